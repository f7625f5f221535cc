using Kezekshi.Edge.Agent.Store;

namespace Kezekshi.Edge.Agent.Ledgers.Tableau;

/// <summary>One pupil's line of the free-meal report: how many entitled meals, and what the subsidy paid (tiyn).</summary>
public sealed record FreeMealLine(long PupilId, string Name, string ClassName, string Program, int Meals, long Cost);

/// <summary>The monthly free-meal report schools file by the 5th: per pupil, meals and cost, with totals.</summary>
public sealed record FreeMealReport(string SchoolName, int Year, int Month, IReadOnlyList<FreeMealLine> Lines)
{
    public int TotalMeals => Lines.Sum(l => l.Meals);
    public long TotalCost => Lines.Sum(l => l.Cost);
}

/// <summary>
/// Builds the free-meal report from the canteen ledger: meals whose subsidy was not voided, cost = subsidy paid net of
/// what voids gave back. This is the settlement of the subsidy account for the month.
/// </summary>
public sealed class FreeMealReportBuilder(EdgeDatabase database)
{
    public FreeMealReport Build(int year, int month)
    {
        if (month is < 1 or > 12) throw new ArgumentException($"Month {month} is not 1..12.", nameof(month));
        var first = new DateOnly(year, month, 1);
        var last = first.AddMonths(1).AddDays(-1);
        using var connection = database.Connect();
        var lines = LedgerSql.Query(connection, null, """
            SELECT p.id, p.full_name, k.name,
                   COALESCE((SELECT group_concat(DISTINCT e.program) FROM canteen_entitlements e WHERE e.pupil_id = p.id AND e.valid_from <= $l AND (e.valid_until IS NULL OR e.valid_until >= $f)), ''),
                   SUM(NOT EXISTS (SELECT 1 FROM canteen_transactions v WHERE v.original_id = t.id AND v.kind = 'void' AND v.from_subsidy > 0)),
                   SUM(t.from_subsidy) - COALESCE(SUM((SELECT SUM(v.from_subsidy) FROM canteen_transactions v WHERE v.original_id = t.id AND v.kind = 'void')), 0)
            FROM canteen_transactions t JOIN pupils p ON p.id = t.pupil_id JOIN classes k ON k.id = p.class_id
            WHERE t.kind = 'charge' AND t.from_subsidy > 0 AND t.local_day BETWEEN $f AND $l
            GROUP BY p.id ORDER BY k.grade, k.name, p.full_name
            """, r => new FreeMealLine(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetInt64(5)),
            ("$f", LedgerSql.Day(first)), ("$l", LedgerSql.Day(last)));
        string school = LedgerSql.Scalar(connection, null, "SELECT name FROM school LIMIT 1") as string ?? "School";
        return new FreeMealReport(school, year, month, [.. lines.Where(l => l.Meals > 0 || l.Cost != 0)]);
    }
}
