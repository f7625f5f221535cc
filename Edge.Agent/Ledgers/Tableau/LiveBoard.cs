using Kezekshi.Edge.Agent.Store;

namespace Kezekshi.Edge.Agent.Ledgers.Tableau;

/// <summary>Present and enrolled pupils of one class right now.</summary>
public sealed record ClassPresence(long ClassId, string ClassName, int Present, int Enrolled);

/// <summary>A recent arrival for the hall screen.</summary>
public sealed record Arrival(string Name, string Group, string Gate, DateTimeOffset At);

/// <summary>An announcement on the board, valid from/until.</summary>
public sealed record Announcement(string Uid, string Text, DateTimeOffset ValidFrom, DateTimeOffset? ValidUntil);

/// <summary>
/// What the hall board shows. <see cref="Version"/> changes whenever a passage or an announcement is stored, so the page
/// can poll cheaply and redraw only on change.
/// </summary>
public sealed record BoardSnapshot(DateTimeOffset At, IReadOnlyList<ClassPresence> Classes, int PupilsInside, int StaffInside, int VisitorsInside,
    IReadOnlyList<Arrival> LatestArrivals, IReadOnlyList<Announcement> Announcements, string Version);

/// <summary>
/// The live board's data: who is in (from the presence table the passage recorder keeps), the latest arrivals and the
/// announcements the centre sent. Someone counts as inside only if their last passage was an entry today (local time),
/// so a pupil who left by a side door yesterday does not stay on the board.
/// </summary>
public sealed class LiveBoard(EdgeDatabase database, SchoolCalendar calendar)
{
    public BoardSnapshot Snapshot(DateTimeOffset at, int arrivals = 12)
    {
        using var connection = database.Connect();
        var dayStart = LedgerSql.Time(calendar.At(calendar.DayOf(at), TimeOnly.MinValue).ToUniversalTime());
        var classes = LedgerSql.Query(connection, null, """
            SELECT c.id, c.name,
                   COUNT(CASE WHEN pr.inside = 1 AND pr.last_at >= $d THEN 1 END), COUNT(p.id)
            FROM classes c LEFT JOIN pupils p ON p.class_id = c.id AND p.status = 'active'
            LEFT JOIN presence pr ON pr.holder_kind = 'pupil' AND pr.holder_id = p.id
            GROUP BY c.id ORDER BY c.grade, c.name
            """, r => new ClassPresence(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetInt32(3)), ("$d", dayStart));
        var inside = LedgerSql.Query(connection, null, "SELECT holder_kind, COUNT(*) FROM presence WHERE inside = 1 AND last_at >= $d GROUP BY holder_kind",
            r => (r.GetString(0), r.GetInt32(1)), ("$d", dayStart)).ToDictionary(x => x.Item1, x => x.Item2);
        var latest = LedgerSql.Query(connection, null, """
            SELECT COALESCE(p.full_name, s.full_name, v.full_name, '?'),
                   CASE x.holder_kind WHEN 'pupil' THEN k.name WHEN 'staff' THEN 'Staff' ELSE 'Visitor' END, x.gate, COALESCE(x.completed_at, x.decided_at)
            FROM passages x
            LEFT JOIN pupils p ON x.holder_kind = 'pupil' AND p.id = x.holder_id LEFT JOIN classes k ON k.id = p.class_id
            LEFT JOIN staff s ON x.holder_kind = 'staff' AND s.id = x.holder_id LEFT JOIN visitors v ON x.holder_kind = 'visitor' AND v.id = x.holder_id
            WHERE x.direction = 'entry' AND x.outcome IN ('passed','free-pass') AND x.holder_id IS NOT NULL AND x.decided_at >= $d
            ORDER BY COALESCE(x.completed_at, x.decided_at) DESC, x.id DESC LIMIT $n
            """, r => new Arrival(r.GetString(0), r.IsDBNull(1) ? "" : r.GetString(1), r.GetString(2), LedgerSql.ParseTime(r.GetString(3))), ("$d", dayStart), ("$n", arrivals));
        var notes = Announcements.Active(connection, at);
        long lastPassage = LedgerSql.Long(connection, null, "SELECT COALESCE(MAX(id), 0) FROM passages");
        // The announcements part is a hash of what is shown, so an edited text or one expiring changes the version too.
        var shown = string.Join('\n', notes.Select(n => $"{n.Uid}\t{n.Text}\t{n.ValidUntil:O}"));
        string notesHash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(shown)))[..12];
        return new BoardSnapshot(at, classes, inside.GetValueOrDefault("pupil"), inside.GetValueOrDefault("staff"), inside.GetValueOrDefault("visitor"),
            latest, notes, $"{lastPassage}.{notesHash}.{LedgerSql.Day(calendar.DayOf(at))}");
    }
}

/// <summary>The board's announcements. The sync downlink calls <see cref="Upsert"/> and <see cref="Remove"/>; the office may too.</summary>
public sealed class Announcements(EdgeDatabase database)
{
    /// <summary>Adds or replaces the announcement with this <paramref name="uid"/> (idempotent for redelivery).</summary>
    public void Upsert(string uid, string text, DateTimeOffset validFrom, DateTimeOffset? validUntil, DateTimeOffset createdAt)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uid);
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        if (text.Length > 500) throw new ArgumentException("An announcement fits on the board in 500 characters; shorten it.", nameof(text));
        using var connection = database.Connect();
        LedgerSql.Exec(connection, null, """
            INSERT INTO announcements(uid, text, valid_from, valid_until, created_at) VALUES ($u, $t, $f, $until, $c)
            ON CONFLICT(uid) DO UPDATE SET text = excluded.text, valid_from = excluded.valid_from, valid_until = excluded.valid_until
            """, ("$u", uid), ("$t", text.Trim()), ("$f", LedgerSql.Time(validFrom.ToUniversalTime())), ("$until", validUntil is { } u ? LedgerSql.Time(u.ToUniversalTime()) : null),
            ("$c", LedgerSql.Time(createdAt)));
    }

    /// <summary>Removes an announcement; true if there was one.</summary>
    public bool Remove(string uid)
    {
        using var connection = database.Connect();
        return LedgerSql.Exec(connection, null, "DELETE FROM announcements WHERE uid = $u", ("$u", uid)) > 0;
    }

    public IReadOnlyList<Announcement> Active(DateTimeOffset at)
    {
        using var connection = database.Connect();
        return Active(connection, at);
    }

    internal static IReadOnlyList<Announcement> Active(Microsoft.Data.Sqlite.SqliteConnection connection, DateTimeOffset at)
    {
        string now = LedgerSql.Time(at.ToUniversalTime());
        return LedgerSql.Query(connection, null,
            "SELECT uid, text, valid_from, valid_until FROM announcements WHERE valid_from <= $n AND (valid_until IS NULL OR valid_until > $n) ORDER BY valid_from DESC, id DESC",
            r => new Announcement(r.GetString(0), r.GetString(1), LedgerSql.ParseTime(r.GetString(2)), r.IsDBNull(3) ? null : LedgerSql.ParseTime(r.GetString(3))), ("$n", now));
    }
}
