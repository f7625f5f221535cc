using Kezekshi.Edge.Agent.Store;

namespace Kezekshi.Edge.Agent.Ledgers.Tableau;

/// <summary>An entitled pupil who is at school and has not eaten by the cut-off.</summary>
public sealed record UneatenMeal(long PupilId, string Name, long ClassId, string ClassName, string Program, DateTimeOffset ArrivedAt);

/// <summary>
/// "Entitled but has not eaten": pupils with a free-meal entitlement valid today who came in through a gate today and are
/// still inside at the cut-off, with no meal sold to them (not voided) by then. For the class teacher, per class.
/// </summary>
public sealed class MealWatch(EdgeDatabase database, SchoolCalendar calendar)
{
    public IReadOnlyList<UneatenMeal> EntitledButNotEaten(DateOnly day, TimeOnly cutOff, long? classId = null)
    {
        using var connection = database.Connect();
        var from = calendar.At(day, TimeOnly.MinValue).ToUniversalTime();
        var until = calendar.At(day, cutOff).ToUniversalTime();
        string dayText = LedgerSql.Day(day);
        return LedgerSql.Query(connection, null, """
            SELECT p.id, p.full_name, k.id, k.name,
                   (SELECT group_concat(DISTINCT e.program) FROM canteen_entitlements e WHERE e.pupil_id = p.id AND e.valid_from <= $day AND (e.valid_until IS NULL OR e.valid_until >= $day)),
                   (SELECT MIN(COALESCE(x.completed_at, x.decided_at)) FROM passages x WHERE x.holder_kind = 'pupil' AND x.holder_id = p.id AND x.direction = 'entry'
                      AND x.outcome IN ('passed','free-pass') AND x.decided_at >= $from AND x.decided_at < $until)
            FROM pupils p JOIN classes k ON k.id = p.class_id
            JOIN presence pr ON pr.holder_kind = 'pupil' AND pr.holder_id = p.id AND pr.inside = 1 AND pr.last_at >= $from
            WHERE p.status = 'active' AND ($class IS NULL OR k.id = $class)
              AND EXISTS (SELECT 1 FROM canteen_entitlements e WHERE e.pupil_id = p.id AND e.valid_from <= $day AND (e.valid_until IS NULL OR e.valid_until >= $day))
              AND NOT EXISTS (
                  SELECT 1 FROM canteen_transactions t JOIN canteen_charge_lines l ON l.transaction_id = t.id JOIN canteen_menu_items m ON m.id = l.menu_item_id
                  WHERE t.pupil_id = p.id AND t.kind = 'charge' AND t.local_day = $day AND m.is_meal = 1 AND t.at < $until
                    AND NOT EXISTS (SELECT 1 FROM canteen_transactions v WHERE v.original_id = t.id AND v.kind = 'void'))
            ORDER BY k.grade, k.name, p.full_name
            """, r => new UneatenMeal(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetString(4),
                r.IsDBNull(5) ? DateTimeOffset.MinValue : LedgerSql.ParseTime(r.GetString(5))),
            ("$day", dayText), ("$from", LedgerSql.Time(from)), ("$until", LedgerSql.Time(until)), ("$class", classId))
            .Where(m => m.ArrivedAt != DateTimeOffset.MinValue).ToList();
    }
}
