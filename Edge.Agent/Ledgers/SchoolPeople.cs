using Kezekshi.Edge.Agent.Store;

namespace Kezekshi.Edge.Agent.Ledgers;

/// <summary>A pupil as the desks show them: for confirmation on screen, never sent to the centre.</summary>
public sealed record PupilSummary(long PupilId, string FullName, long ClassId, string ClassName, int Grade);

/// <summary>Looks pupils up by card, as the card reader on the till or library PC reads them.</summary>
public sealed class SchoolPeople(EdgeDatabase database)
{
    /// <summary>The active pupil holding an active card; null for unknown, blocked or lost cards and for staff or visitors.</summary>
    public PupilSummary? PupilByCard(ulong cardNumber)
    {
        using var connection = database.Connect();
        return LedgerSql.Query(connection, null, """
            SELECT p.id, p.full_name, c.id, c.name, c.grade FROM credentials k JOIN pupils p ON p.id = k.holder_id JOIN classes c ON c.id = p.class_id
            WHERE k.card_number = $c AND k.holder_kind = 'pupil' AND k.status = 'active' AND p.status = 'active'
            """, r => new PupilSummary(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetInt32(4)), ("$c", (long)cardNumber)).FirstOrDefault();
    }

    /// <summary>An active pupil by ID, or null.</summary>
    public PupilSummary? Pupil(long pupilId)
    {
        using var connection = database.Connect();
        return LedgerSql.Query(connection, null, """
            SELECT p.id, p.full_name, c.id, c.name, c.grade FROM pupils p JOIN classes c ON c.id = p.class_id WHERE p.id = $p AND p.status = 'active'
            """, r => new PupilSummary(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetInt32(4)), ("$p", pupilId)).FirstOrDefault();
    }
}
