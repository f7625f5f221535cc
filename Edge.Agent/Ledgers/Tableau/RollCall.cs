using Kezekshi.Edge.Agent.Store;

namespace Kezekshi.Edge.Agent.Ledgers.Tableau;

/// <summary>One person on an evacuation list.</summary>
public sealed record RollCallPerson(string HolderKind, long HolderId, string Name, string Group, string? LastGate, DateTimeOffset? LastAt,
    DateTimeOffset? AccountedAt, string? AccountedBy);

/// <summary>A roll-call session: everyone who was inside when it started, and who has been ticked off.</summary>
public sealed record RollCallSheet(long SessionId, DateTimeOffset StartedAt, string StartedBy, DateTimeOffset? EndedAt, IReadOnlyList<RollCallPerson> People)
{
    public int Missing => People.Count(p => p.AccountedAt is null);
}

/// <summary>
/// Evacuation roll-call. <see cref="Start"/> snapshots who is inside (presence from today's passages, and visitors whose
/// pass is valid but who were never seen at a gate) into the store, so the list stays usable with the network and the
/// gates down; teachers tick people off on a tablet against that snapshot.
/// </summary>
public sealed class RollCall(EdgeDatabase database, SchoolCalendar calendar)
{
    private readonly Lock _write = new();

    /// <summary>Starts a roll-call and returns its sheet. An already running roll-call is returned instead of a second one.</summary>
    public RollCallSheet Start(string startedBy, DateTimeOffset at)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(startedBy);
        lock (_write)
        {
            using var connection = database.Connect();
            using var transaction = connection.BeginTransaction(deferred: false);
            if (LedgerSql.Scalar(connection, transaction, "SELECT id FROM rollcall_sessions WHERE ended_at IS NULL ORDER BY id DESC LIMIT 1") is long running)
            {
                transaction.Commit();
                return Sheet(running);
            }
            long id = LedgerSql.Long(connection, transaction, "INSERT INTO rollcall_sessions(started_at, started_by) VALUES ($at, $by) RETURNING id",
                ("$at", LedgerSql.Time(at)), ("$by", startedBy));
            var dayStart = LedgerSql.Time(calendar.At(calendar.DayOf(at), TimeOnly.MinValue).ToUniversalTime());
            LedgerSql.Exec(connection, transaction, """
                INSERT INTO rollcall_people(session_id, holder_kind, holder_id, full_name, group_name, last_gate, last_at)
                SELECT $s, pr.holder_kind, pr.holder_id,
                       COALESCE(p.full_name, st.full_name, v.full_name, '(unknown)'),
                       CASE pr.holder_kind WHEN 'pupil' THEN 'Class ' || COALESCE(k.name, '?') WHEN 'staff' THEN 'Staff' ELSE 'Visitors' END,
                       pr.last_gate, pr.last_at
                FROM presence pr
                LEFT JOIN pupils p ON pr.holder_kind = 'pupil' AND p.id = pr.holder_id LEFT JOIN classes k ON k.id = p.class_id
                LEFT JOIN staff st ON pr.holder_kind = 'staff' AND st.id = pr.holder_id
                LEFT JOIN visitors v ON pr.holder_kind = 'visitor' AND v.id = pr.holder_id
                WHERE pr.inside = 1 AND pr.last_at >= $d
                """, ("$s", id), ("$d", dayStart));
            // Visitors with a pass valid now who never passed a gate today (let in by hand): better listed than forgotten.
            // Pass times are compared parsed, since they may be stored with any UTC offset.
            var unseen = LedgerSql.Query(connection, transaction, """
                SELECT v.id, v.full_name, v.valid_from, v.valid_until FROM visitors v
                WHERE NOT EXISTS (SELECT 1 FROM presence pr WHERE pr.holder_kind = 'visitor' AND pr.holder_id = v.id AND pr.last_at >= $d)
                """, r => (Id: r.GetInt64(0), Name: r.GetString(1), From: LedgerSql.ParseTime(r.GetString(2)), Until: LedgerSql.ParseTime(r.GetString(3))), ("$d", dayStart));
            foreach (var visitor in unseen.Where(v => v.From <= at && at < v.Until))
            {
                LedgerSql.Exec(connection, transaction, """
                    INSERT OR IGNORE INTO rollcall_people(session_id, holder_kind, holder_id, full_name, group_name)
                    VALUES ($s, 'visitor', $v, $n, 'Visitors (pass valid, not seen at a gate)')
                    """, ("$s", id), ("$v", visitor.Id), ("$n", visitor.Name));
            }
            transaction.Commit();
            return Sheet(id);
        }
    }

    /// <summary>Ticks a person off (found safe at the assembly point). Ticking twice keeps the first tick.</summary>
    public void Tick(long sessionId, string holderKind, long holderId, string by, DateTimeOffset at)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        using var connection = database.Connect();
        if (LedgerSql.Exec(connection, null, "UPDATE rollcall_people SET accounted_at = COALESCE(accounted_at, $at), accounted_by = COALESCE(accounted_by, $by) WHERE session_id = $s AND holder_kind = $k AND holder_id = $h",
            ("$at", LedgerSql.Time(at)), ("$by", by), ("$s", sessionId), ("$k", holderKind), ("$h", holderId)) == 0)
            throw new LedgerException($"{holderKind} {holderId} is not on roll-call {sessionId}; add them by hand on the paper list.");
    }

    /// <summary>Undoes a tick made by mistake.</summary>
    public void Untick(long sessionId, string holderKind, long holderId)
    {
        using var connection = database.Connect();
        LedgerSql.Exec(connection, null, "UPDATE rollcall_people SET accounted_at = NULL, accounted_by = NULL WHERE session_id = $s AND holder_kind = $k AND holder_id = $h",
            ("$s", sessionId), ("$k", holderKind), ("$h", holderId));
    }

    public void End(long sessionId, DateTimeOffset at)
    {
        using var connection = database.Connect();
        LedgerSql.Exec(connection, null, "UPDATE rollcall_sessions SET ended_at = $at WHERE id = $s AND ended_at IS NULL", ("$at", LedgerSql.Time(at)), ("$s", sessionId));
    }

    /// <summary>The running roll-call, if any.</summary>
    public RollCallSheet? Current()
    {
        using var connection = database.Connect();
        return LedgerSql.Scalar(connection, null, "SELECT id FROM rollcall_sessions WHERE ended_at IS NULL ORDER BY id DESC LIMIT 1") is long id ? Sheet(id) : null;
    }

    public RollCallSheet Sheet(long sessionId)
    {
        using var connection = database.Connect();
        var session = LedgerSql.Query(connection, null, "SELECT started_at, started_by, ended_at FROM rollcall_sessions WHERE id = $s",
            r => (LedgerSql.ParseTime(r.GetString(0)), r.GetString(1), r.IsDBNull(2) ? (DateTimeOffset?)null : LedgerSql.ParseTime(r.GetString(2))), ("$s", sessionId));
        if (session.Count == 0) throw new LedgerException($"There is no roll-call {sessionId}.");
        var people = LedgerSql.Query(connection, null, """
            SELECT holder_kind, holder_id, full_name, group_name, last_gate, last_at, accounted_at, accounted_by FROM rollcall_people WHERE session_id = $s
            ORDER BY CASE holder_kind WHEN 'pupil' THEN 0 WHEN 'staff' THEN 1 ELSE 2 END, group_name, full_name
            """, r => new RollCallPerson(r.GetString(0), r.GetInt64(1), r.GetString(2), r.GetString(3), LedgerSql.NullableString(r, 4),
                r.IsDBNull(5) ? null : LedgerSql.ParseTime(r.GetString(5)), r.IsDBNull(6) ? null : LedgerSql.ParseTime(r.GetString(6)), LedgerSql.NullableString(r, 7)), ("$s", sessionId));
        var (started, by, ended) = session[0];
        return new RollCallSheet(sessionId, started, by, ended, people);
    }
}
