using System.Globalization;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Web.Live;

namespace Kezekshi.Edge.Agent.Web.Board;

/// <summary>Pupils of one class at school now.</summary>
public sealed record ClassPresence(string ClassName, int Grade, int Present, int Total);

/// <summary>Someone who came in, for the board's "latest arrivals".</summary>
public sealed record Arrival(string Uid, string Name, string? ClassName, string Gate, string LocalTime);

/// <summary>What the hall screen shows.</summary>
public sealed record BoardSnapshot(string School, string LocalTime, int PresentPupils, int TotalPupils, int PresentStaff,
    IReadOnlyList<ClassPresence> Classes, IReadOnlyList<Arrival> Arrivals, IReadOnlyList<string> Announcements);

/// <summary>
/// Builds the board from who is inside (the gates' <see cref="PresenceTracker"/>, or the stored presence table
/// when the gates are not running), the latest granted entries and the announcements.
/// </summary>
public sealed class BoardQuery(WebContext context)
{
    private const int ArrivalsShown = 12;
    private readonly Lock _lock = new();
    private School? _school;
    private long _schoolLoadedAt;

    public BoardSnapshot Build()
    {
        var school = LoadSchool();
        var inside = Inside();
        var presentByClass = new Dictionary<long, int>();
        int presentPupils = 0, presentStaff = 0;
        foreach (var (kind, id) in inside)
        {
            if (kind == HolderKind.Staff) presentStaff++;
            if (kind != HolderKind.Pupil || !school.ClassOfPupil.TryGetValue(id, out long classId)) continue;
            presentPupils++;
            presentByClass[classId] = presentByClass.GetValueOrDefault(classId) + 1;
        }
        var classes = school.Classes.Select(c => new ClassPresence(c.Name, c.Grade, presentByClass.GetValueOrDefault(c.Id), c.Total)).ToList();
        var local = TimeZoneInfo.ConvertTime(context.Time.GetUtcNow(), school.TimeZone);
        return new BoardSnapshot(school.Name, local.ToString("HH:mm", CultureInfo.InvariantCulture), presentPupils, school.ClassOfPupil.Count, presentStaff,
            classes, Arrivals(school), Announcements());
    }

    private List<(HolderKind Kind, long Id)> Inside()
    {
        if (context.Runtime() is { } runtime) return runtime.Presence.Inside().ToList();
        using var connection = context.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT holder_kind, holder_id FROM presence WHERE inside = 1";
        using var reader = command.ExecuteReader();
        var list = new List<(HolderKind, long)>();
        while (reader.Read()) list.Add((AccessRepository.ParseHolderKind(reader.GetString(0)), reader.GetInt64(1)));
        return list;
    }

    private List<Arrival> Arrivals(School school)
    {
        string Local(DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, school.TimeZone).ToString("HH:mm", CultureInfo.InvariantCulture);
        string? ClassOf(string? kind, long? id) =>
            kind == "pupil" && id is { } p && school.ClassOfPupil.TryGetValue(p, out long c) ? school.ClassName.GetValueOrDefault(c) : null;

        var arrivals = context.Feed.Recent(LiveFeed.Capacity)
            .Where(e => e.Granted && e.Direction == "entry" && e.HolderName is not null && e.HolderKind is "pupil" or "staff")
            .Reverse().Take(ArrivalsShown)
            .Select(e => new Arrival(e.Uid, e.HolderName!, ClassOf(e.HolderKind, e.HolderId), e.Gate, Local(e.At)))
            .ToList();
        if (arrivals.Count >= ArrivalsShown) return arrivals;

        // Pages opened after a restart still show this morning's arrivals: fill from the store.
        var seen = arrivals.Select(a => a.Uid).ToHashSet(StringComparer.Ordinal);
        using var connection = context.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT p.passage_uid, p.holder_kind, p.holder_id, p.gate, p.decided_at, COALESCE(pu.full_name, st.full_name)
            FROM passages p
            LEFT JOIN pupils pu ON p.holder_kind = 'pupil' AND pu.id = p.holder_id
            LEFT JOIN staff st ON p.holder_kind = 'staff' AND st.id = p.holder_id
            WHERE p.direction = 'entry' AND p.decision = 'granted' AND p.holder_kind IN ('pupil','staff')
            ORDER BY p.id DESC LIMIT $n
            """;
        command.Parameters.AddWithValue("$n", ArrivalsShown * 2);
        using var reader = command.ExecuteReader();
        while (reader.Read() && arrivals.Count < ArrivalsShown)
        {
            if (!seen.Add(reader.GetString(0)) || reader.IsDBNull(5)) continue;
            var at = DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture);
            arrivals.Add(new Arrival(reader.GetString(0), reader.GetString(5), ClassOf(reader.GetString(1), reader.GetInt64(2)), reader.GetString(3), Local(at)));
        }
        return arrivals;
    }

    private List<string> Announcements() => AnnouncementSource.Current(context.Database, context.Time.GetUtcNow());

    private School LoadSchool()
    {
        lock (_lock)
        {
            // Classes and pupils change with the roster (a few times a day at most): reload every five minutes.
            if (_school is not null && context.Time.GetElapsedTime(_schoolLoadedAt) < TimeSpan.FromMinutes(5)) return _school;
            using var connection = context.Database.Connect();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT name, time_zone FROM school LIMIT 1";
            string name = "School";
            var zone = TimeZoneInfo.Utc;
            using (var reader = command.ExecuteReader())
            {
                if (reader.Read())
                {
                    name = reader.GetString(0);
                    zone = AccessRepository.FindTimeZone(reader.GetString(1));
                }
            }
            var classOfPupil = new Dictionary<long, long>();
            command.CommandText = "SELECT id, class_id FROM pupils WHERE status = 'active'";
            using (var reader = command.ExecuteReader())
                while (reader.Read()) classOfPupil[reader.GetInt64(0)] = reader.GetInt64(1);
            var totals = classOfPupil.Values.GroupBy(c => c).ToDictionary(g => g.Key, g => g.Count());
            var classes = new List<(long Id, string Name, int Grade, int Total)>();
            command.CommandText = "SELECT id, name, grade FROM classes ORDER BY grade, name";
            using (var reader = command.ExecuteReader())
                while (reader.Read()) classes.Add((reader.GetInt64(0), reader.GetString(1), reader.GetInt32(2), totals.GetValueOrDefault(reader.GetInt64(0))));
            _school = new School(name, zone, classOfPupil, classes, classes.ToDictionary(c => c.Id, c => c.Name));
            _schoolLoadedAt = context.Time.GetTimestamp();
            return _school;
        }
    }

    private sealed record School(string Name, TimeZoneInfo TimeZone, Dictionary<long, long> ClassOfPupil,
        List<(long Id, string Name, int Grade, int Total)> Classes, Dictionary<long, string> ClassName);
}
