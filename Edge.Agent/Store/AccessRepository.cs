using System.Globalization;
using Kezekshi.Edge.Agent.Gate;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Agent.Store;

/// <summary>Reads the gate's view of the school out of the store into an <see cref="AccessSnapshot"/>.</summary>
public sealed class AccessRepository(EdgeDatabase database)
{
    /// <summary>Builds a fresh snapshot; 50,000 credentials load in well under a second.</summary>
    public AccessSnapshot LoadSnapshot()
    {
        try
        {
            using var connection = database.Connect();
            var timeZone = TimeZoneInfo.Utc;
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT time_zone FROM school LIMIT 1";
                if (command.ExecuteScalar() is string tz) timeZone = FindTimeZone(tz);
            }

            var credentials = new List<Credential>();
            using (var command = connection.CreateCommand())
            {
                command.CommandText = """
                    SELECT c.card_number, c.status, c.holder_kind, c.holder_id,
                           COALESCE(p.full_name, s.full_name, v.full_name),
                           CASE c.holder_kind WHEN 'pupil' THEN p.status = 'active' WHEN 'staff' THEN s.status = 'active' ELSE v.id IS NOT NULL END,
                           p.class_id, s.role, v.valid_from, v.valid_until
                    FROM credentials c
                    LEFT JOIN pupils p   ON c.holder_kind = 'pupil'   AND p.id = c.holder_id
                    LEFT JOIN staff s    ON c.holder_kind = 'staff'   AND s.id = c.holder_id
                    LEFT JOIN visitors v ON c.holder_kind = 'visitor' AND v.id = c.holder_id
                    """;
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    var kind = ParseHolderKind(reader.GetString(2));
                    var holder = new Holder(kind, reader.GetInt64(3), reader.IsDBNull(4) ? "(unknown holder)" : reader.GetString(4),
                        !reader.IsDBNull(5) && reader.GetBoolean(5),
                        reader.IsDBNull(6) ? null : reader.GetInt64(6),
                        reader.IsDBNull(7) ? null : reader.GetString(7),
                        reader.IsDBNull(8) ? null : DateTimeOffset.Parse(reader.GetString(8), CultureInfo.InvariantCulture),
                        reader.IsDBNull(9) ? null : DateTimeOffset.Parse(reader.GetString(9), CultureInfo.InvariantCulture));
                    credentials.Add(new Credential((ulong)reader.GetInt64(0), ParseStatus(reader.GetString(1)), holder));
                }
            }

            // Every pupil, card or not: the face gate finds its pupil by ID.
            var pupils = new List<Holder>();
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT id, full_name, status = 'active', class_id FROM pupils";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                    pupils.Add(new Holder(HolderKind.Pupil, reader.GetInt64(0), reader.GetString(1), reader.GetBoolean(2), reader.GetInt64(3), null));
            }

            var classWindows = new Dictionary<long, List<TimeWindow>>();
            var roleWindows = new Dictionary<string, List<TimeWindow>>(StringComparer.Ordinal);
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT applies_to, class_id, role, weekday, from_time, until_time FROM schedules";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    var window = new TimeWindow(reader.GetInt32(3), TimeOnly.Parse(reader.GetString(4), CultureInfo.InvariantCulture), TimeOnly.Parse(reader.GetString(5), CultureInfo.InvariantCulture));
                    if (reader.GetString(0) == "class" && !reader.IsDBNull(1))
                        (classWindows.TryGetValue(reader.GetInt64(1), out var l) ? l : classWindows[reader.GetInt64(1)] = []).Add(window);
                    else if (!reader.IsDBNull(2))
                        (roleWindows.TryGetValue(reader.GetString(2), out var r) ? r : roleWindows[reader.GetString(2)] = []).Add(window);
                }
            }

            var holidays = new List<DateOnly>();
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT day FROM holidays";
                using var reader = command.ExecuteReader();
                while (reader.Read()) holidays.Add(DateOnly.Parse(reader.GetString(0), CultureInfo.InvariantCulture));
            }

            var gates = new List<GateRules>();
            using (var command = connection.CreateCommand())
            {
                command.CommandText = """
                    SELECT g.name, g.anti_passback, d.weekday, d.from_time, d.until_time, d.mode
                    FROM gates g LEFT JOIN gate_direction_schedules d ON d.gate_id = g.id ORDER BY g.id
                    """;
                using var reader = command.ExecuteReader();
                var byGate = new Dictionary<string, (AntiPassbackMode Mode, List<(TimeWindow, DirectionMode)> Schedule)>(StringComparer.Ordinal);
                while (reader.Read())
                {
                    string name = reader.GetString(0);
                    if (!byGate.TryGetValue(name, out var entry))
                        byGate[name] = entry = (ParseAntiPassback(reader.GetString(1)), []);
                    if (!reader.IsDBNull(2))
                        entry.Schedule.Add((new TimeWindow(reader.GetInt32(2), TimeOnly.Parse(reader.GetString(3), CultureInfo.InvariantCulture), TimeOnly.Parse(reader.GetString(4), CultureInfo.InvariantCulture)), ParseDirectionMode(reader.GetString(5))));
                }
                gates.AddRange(byGate.Select(g => new GateRules(g.Key, g.Value.Mode, g.Value.Schedule)));
            }

            return new AccessSnapshot(timeZone, credentials,
                classWindows.ToDictionary(p => p.Key, p => p.Value.ToArray()),
                roleWindows.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal),
                holidays, gates, pupils);
        }
        catch (SqliteException e)
        {
            throw database.Translate(e, "loading cards and schedules from");
        }
    }

    /// <summary>Loads who is inside, as last recorded.</summary>
    public void LoadPresence(PresenceTracker presence)
    {
        ArgumentNullException.ThrowIfNull(presence);
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT holder_kind, holder_id, inside FROM presence";
        using var reader = command.ExecuteReader();
        while (reader.Read())
            presence.Record(ParseHolderKind(reader.GetString(0)), reader.GetInt64(1), reader.GetBoolean(2) ? Direction.Entry : Direction.Exit);
    }

    /// <summary>Makes sure every configured gate has a row (anti-passback mode from configuration on first sight).</summary>
    public void EnsureGate(string name, AntiPassbackMode antiPassback)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO gates(name, anti_passback) VALUES ($n, $a) ON CONFLICT(name) DO UPDATE SET anti_passback = excluded.anti_passback";
        command.Parameters.AddWithValue("$n", name);
        command.Parameters.AddWithValue("$a", FormatAntiPassback(antiPassback));
        command.ExecuteNonQuery();
    }

    public static TimeZoneInfo FindTimeZone(string id)
    {
        try { return TimeZoneInfo.FindSystemTimeZoneById(id); }
        catch (TimeZoneNotFoundException) { return TimeZoneInfo.Utc; }
    }

    public static HolderKind ParseHolderKind(string value) => value switch
    {
        "pupil" => HolderKind.Pupil,
        "staff" => HolderKind.Staff,
        _ => HolderKind.Visitor,
    };

    public static string FormatHolderKind(HolderKind kind) => kind switch
    {
        HolderKind.Pupil => "pupil",
        HolderKind.Staff => "staff",
        _ => "visitor",
    };

    private static CredentialStatus ParseStatus(string value) => value switch
    {
        "active" => CredentialStatus.Active,
        "lost" => CredentialStatus.Lost,
        _ => CredentialStatus.Blocked,
    };

    private static AntiPassbackMode ParseAntiPassback(string value) => value switch
    {
        "hard" => AntiPassbackMode.Hard,
        "soft" => AntiPassbackMode.Soft,
        _ => AntiPassbackMode.Off,
    };

    public static string FormatAntiPassback(AntiPassbackMode mode) => mode switch
    {
        AntiPassbackMode.Hard => "hard",
        AntiPassbackMode.Soft => "soft",
        _ => "off",
    };

    private static DirectionMode ParseDirectionMode(string value) => value switch
    {
        "entry-only" => DirectionMode.EntryOnly,
        "exit-only" => DirectionMode.ExitOnly,
        _ => DirectionMode.Both,
    };
}
