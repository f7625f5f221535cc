using System.Globalization;
using Kezekshi.Server.Sync.Store;
using Npgsql;

namespace Kezekshi.Server.Sync.Domain;

/// <summary>
/// Read models from the schools' uplink events: a parent's view of their own child, and the region dashboard
/// (attendance and meals per school and day).
/// </summary>
/// <param name="timeZone">The IANA zone school days are counted in (Kazakhstan: one zone, UTC+5, since March 2024).</param>
public sealed class Reports(CentreDatabase database, string timeZone = "Asia/Almaty")
{
    /// <summary>The longest period one dashboard request may cover.</summary>
    public const int MaxDashboardDays = 93;

    /// <summary>At most this many passages or purchases per parent request (newest first).</summary>
    public const int MaxRows = 500;

    /// <summary>
    /// The pupil's passages, newest first, for a guardian linked to them. A guardian not linked to the pupil gets the same
    /// 404 as for an unknown pupil, so the portal cannot be used to probe which pupil IDs exist.
    /// </summary>
    public Task<List<PassageView>> PassagesForGuardianAsync(long guardianId, long pupilId, DateOnly? from, DateOnly? to, CancellationToken cancellationToken)
    {
        var (start, end) = Period(from, to, 366);
        return database.RunAsync("reading a pupil's passages from", async (connection, ct) =>
        {
            await RequireLinkAsync(connection, guardianId, pupilId, ct).ConfigureAwait(false);
            return await Sql.ListAsync(Sql.Command(connection, null, """
                SELECT school, gate, direction, decision, outcome, decided_at, credential FROM passages
                WHERE holder_kind = 'pupil' AND holder_id = $1
                  AND decided_at >= ($2::date::timestamp AT TIME ZONE $4) AND decided_at < (($3::date + 1)::timestamp AT TIME ZONE $4)
                ORDER BY decided_at DESC LIMIT $5
                """, pupilId, start, end, timeZone, MaxRows),
                r => new PassageView(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetFieldValue<DateTimeOffset>(5),
                    r.IsDBNull(6) ? null : r.GetString(6)), ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>The pupil's canteen charges and refunds, newest first, for a guardian linked to them (404 otherwise, as above).</summary>
    public Task<List<PurchaseView>> PurchasesForGuardianAsync(long guardianId, long pupilId, DateOnly? from, DateOnly? to, CancellationToken cancellationToken)
    {
        var (start, end) = Period(from, to, 366);
        return database.RunAsync("reading a pupil's purchases from", async (connection, ct) =>
        {
            await RequireLinkAsync(connection, guardianId, pupilId, ct).ConfigureAwait(false);
            return await Sql.ListAsync(Sql.Command(connection, null, """
                SELECT kind, id, school, amount, at FROM (
                    SELECT DISTINCT ON (type, COALESCE(payload->>'chargeId', payload->>'refundId'))
                           CASE type WHEN 'canteen.charge' THEN 'charge' ELSE 'refund' END AS kind,
                           COALESCE(payload->>'chargeId', payload->>'refundId') AS id, school,
                           (payload->>'amountTiyn')::bigint AS amount, created_at AS at
                    FROM events
                    WHERE type IN ('canteen.charge', 'canteen.refund') AND payload->>'pupilId' = $1
                      AND COALESCE(payload->>'chargeId', payload->>'refundId') IS NOT NULL
                      AND jsonb_typeof(payload->'amountTiyn') = 'number' AND (payload->>'amountTiyn') ~ '^[0-9]{1,15}$'
                      AND created_at >= ($2::date::timestamp AT TIME ZONE $4) AND created_at < (($3::date + 1)::timestamp AT TIME ZONE $4)
                    ORDER BY type, COALESCE(payload->>'chargeId', payload->>'refundId'), received_at
                ) m
                ORDER BY at DESC, id LIMIT $5
                """, pupilId.ToString(CultureInfo.InvariantCulture), start, end, timeZone, MaxRows),
                r => new PurchaseView(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.OptionalTime(4)), ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>
    /// Per school of the region and per day with any activity: attendance = distinct pupils granted entry (and not
    /// turned back at the turnstile); meals = distinct canteen charges. Both come from events as the schools sent them,
    /// so an offline school's days fill in when it catches up.
    /// </summary>
    public Task<List<DashboardRow>> DashboardAsync(string? region, DateOnly? from, DateOnly? to, CancellationToken cancellationToken)
    {
        string id = Check.Region(region);
        var (start, end) = Period(from, to, MaxDashboardDays);
        return database.RunAsync("reading the region dashboard from", async (connection, ct) =>
        {
            await using (var any = Sql.Command(connection, null, "SELECT 1 FROM schools WHERE region = $1 LIMIT 1", id))
            {
                if (await any.ExecuteScalarAsync(ct).ConfigureAwait(false) is null)
                    throw CentreRequestException.NotFound($"No school is registered in region {id}: check the region ID (GET /api/schools lists schools with their regions).");
            }
            return await Sql.ListAsync(Sql.Command(connection, null, """
                WITH s AS (SELECT id, name FROM schools WHERE region = $1),
                bounds AS (SELECT ($2::date::timestamp AT TIME ZONE $4) AS lo, (($3::date + 1)::timestamp AT TIME ZONE $4) AS hi),
                att AS (
                    SELECT p.school, (p.decided_at AT TIME ZONE $4)::date AS day, count(DISTINCT p.holder_id) AS n
                    FROM passages p JOIN s ON s.id = p.school, bounds b
                    WHERE p.holder_kind = 'pupil' AND p.holder_id IS NOT NULL AND p.direction = 'entry' AND p.decision = 'granted'
                      AND p.outcome <> 'not-passed' AND p.decided_at >= b.lo AND p.decided_at < b.hi
                    GROUP BY 1, 2),
                meals AS (
                    SELECT e.school, (e.created_at AT TIME ZONE $4)::date AS day, count(DISTINCT e.payload->>'chargeId') AS n
                    FROM events e JOIN s ON s.id = e.school, bounds b
                    WHERE e.type = 'canteen.charge' AND e.created_at >= b.lo AND e.created_at < b.hi
                    GROUP BY 1, 2)
                SELECT s.id, s.name, d.day, COALESCE(att.n, 0), COALESCE(meals.n, 0)
                FROM (SELECT school, day FROM att UNION SELECT school, day FROM meals) d
                JOIN s ON s.id = d.school
                LEFT JOIN att ON att.school = d.school AND att.day = d.day
                LEFT JOIN meals ON meals.school = d.school AND meals.day = d.day
                ORDER BY d.day, s.id
                """, id, start, end, timeZone),
                r => new DashboardRow(r.GetString(0), r.GetString(1), DateOnly.FromDateTime(r.GetDateTime(2)), r.GetInt64(3), r.GetInt64(4)), ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>Throws the 404 of <see cref="PassagesForGuardianAsync"/> unless the guardian is linked to the pupil.</summary>
    public Task RequireGuardianOfAsync(long guardianId, long pupilId, CancellationToken cancellationToken) =>
        database.RunAsync("checking a guardian's link in", async (connection, ct) =>
        {
            await RequireLinkAsync(connection, guardianId, pupilId, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    private static async Task RequireLinkAsync(NpgsqlConnection connection, long guardianId, long pupilId, CancellationToken ct)
    {
        await using var linked = Sql.Command(connection, null, "SELECT 1 FROM guardian_pupils WHERE guardian = $1 AND pupil = $2", guardianId, pupilId);
        if (await linked.ExecuteScalarAsync(ct).ConfigureAwait(false) is null)
            throw CentreRequestException.NotFound($"Guardian {guardianId} has no linked pupil {pupilId}. A guardian sees only their own children; the school office links them.");
    }

    private static (DateOnly From, DateOnly To) Period(DateOnly? from, DateOnly? to, int maxDays)
    {
        var end = to ?? DateOnly.FromDateTime(DateTime.UtcNow);
        var start = from ?? end.AddDays(-6);
        if (start > end) throw CentreRequestException.Invalid("from", $"from {start:yyyy-MM-dd} is after to {end:yyyy-MM-dd}.");
        if (end.DayNumber - start.DayNumber + 1 > maxDays)
            throw CentreRequestException.Invalid("to", $"from {start:yyyy-MM-dd} to {end:yyyy-MM-dd} is longer than {maxDays} days: ask for a shorter period.");
        return (start, end);
    }
}
