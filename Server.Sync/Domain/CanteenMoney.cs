using Kezekshi.Server.Sync.Store;

namespace Kezekshi.Server.Sync.Domain;

/// <summary>
/// Money at the centre (docs/sync-protocol.md §6): top-ups are recorded here first (the centre is authoritative) and sent
/// to the pupil's school; charges and refunds are the schools' (uplink events). All amounts are integer tiyn.
/// </summary>
public sealed class CanteenMoney(CentreDatabase database, TimeProvider? clock = null)
{
    /// <summary>The largest single top-up accepted (1,000,000 ₸): a typo guard, not a policy.</summary>
    public const long MaxTopupTiyn = 100_000_000;

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>
    /// Records a top-up and sends it to the pupil's school. Idempotent by <c>topupId</c>: a repeat with the same pupil
    /// and amount returns the stored top-up with <c>Created = false</c> and sends nothing; a different one is a conflict.
    /// </summary>
    public Task<TopupView> TopupAsync(TopupRequest request, CancellationToken cancellationToken)
    {
        string topupId = Check.Id(request.TopupId, "topupId");
        long pupilId = Check.Positive(request.PupilId, "pupilId");
        long amount = Check.Required(request.AmountTiyn, "amountTiyn");
        if (amount <= 0) throw CentreRequestException.Invalid("amountTiyn", $"amountTiyn must be greater than 0 (got {amount}); corrections are refunds at the school, not negative top-ups.");
        if (amount > MaxTopupTiyn) throw CentreRequestException.Invalid("amountTiyn", $"amountTiyn {amount} is above the single top-up limit of {MaxTopupTiyn} tiyn; check the amount is in tiyn (1 ₸ = 100 tiyn).");
        string source = Check.Text(request.Source, "source", 64);
        var at = (request.At ?? _clock.GetUtcNow()).ToUniversalTime(); // Npgsql writes timestamptz from UTC values only
        return database.InTransactionAsync("recording a top-up in", async (connection, transaction, ct) =>
        {
            // ON CONFLICT DO NOTHING waits for a concurrent insert of the same id, so two racing repeats still give one top-up.
            await using (var insert = Sql.Command(connection, transaction, """
                INSERT INTO topups(id, pupil, amount_tiyn, at, source)
                SELECT $1, p.id, $3, $4, $5 FROM pupils p WHERE p.id = $2 AND p.status = 'active'
                ON CONFLICT (id) DO NOTHING
                """, topupId, pupilId, amount, at, source))
            {
                if (await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1)
                {
                    var pupil = await Roster.RequirePupilAsync(connection, transaction, pupilId, ct).ConfigureAwait(false);
                    await ChangeFeed.AppendAsync(connection, transaction, pupil.School, ChangeKinds.Topup, new TopupData(topupId, pupilId, amount, at),
                        DownlinkJsonContext.Default.TopupData, ct).ConfigureAwait(false);
                    return new TopupView(topupId, pupilId, amount, at, source, Created: true);
                }
            }
            var existing = await Sql.FirstAsync(Sql.Command(connection, transaction, "SELECT id, pupil, amount_tiyn, at, source FROM topups WHERE id = $1", topupId),
                r => new TopupView(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetFieldValue<DateTimeOffset>(3), r.GetString(4), Created: false), ct).ConfigureAwait(false);
            if (existing is null)
            {
                var pupil = await Roster.RequirePupilAsync(connection, transaction, pupilId, ct).ConfigureAwait(false); // 404 when unknown
                throw new CentreRequestException(RequestProblem.Conflict, "pupilId", $"Pupil {pupilId} has {pupil.Status}; top-ups are accepted for enrolled pupils only. Refund the payer.");
            }
            if (existing.PupilId != pupilId || existing.AmountTiyn != amount)
                throw CentreRequestException.Conflict("topupId",
                    $"Top-up {topupId} is already recorded for pupil {existing.PupilId} with {existing.AmountTiyn} tiyn; a new top-up needs a new topupId.");
            return existing;
        }, cancellationToken);
    }

    /// <summary>The pupil's balance at the centre: top-ups − charges + refunds, each charge and refund counted once by its id.</summary>
    /// <remarks>Charges made offline reach the centre when the school reconnects, so this can be behind the school's own balance.</remarks>
    public Task<BalanceView> BalanceAsync(long pupilId, CancellationToken cancellationToken) =>
        database.RunAsync("computing a balance in", async (connection, ct) =>
        {
            await Roster.RequirePupilAsync(connection, null, pupilId, ct).ConfigureAwait(false);
            // The same charge can arrive under two epochs (a restored gate PC re-sending): DISTINCT ON its id.
            var sums = await Sql.FirstAsync(Sql.Command(connection, null, """
                WITH money AS (
                    SELECT DISTINCT ON (type, COALESCE(payload->>'chargeId', payload->>'refundId')) type, (payload->>'amountTiyn')::bigint AS amount
                    FROM events
                    WHERE type IN ('canteen.charge', 'canteen.refund') AND payload->>'pupilId' = $2
                      AND jsonb_typeof(payload->'amountTiyn') = 'number' AND (payload->>'amountTiyn') ~ '^[0-9]{1,15}$'
                    ORDER BY type, COALESCE(payload->>'chargeId', payload->>'refundId'), received_at
                )
                SELECT (SELECT COALESCE(sum(amount_tiyn), 0)::bigint FROM topups WHERE pupil = $1),
                       COALESCE(sum(amount) FILTER (WHERE type = 'canteen.charge'), 0)::bigint,
                       COALESCE(sum(amount) FILTER (WHERE type = 'canteen.refund'), 0)::bigint
                FROM money
                """, pupilId, pupilId.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                r => new BalanceView(pupilId, r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(0) - r.GetInt64(1) + r.GetInt64(2)), ct).ConfigureAwait(false);
            return sums!;
        }, cancellationToken);

    /// <summary>Sets the pupil's offline daily spending cap and sends it to their school (<c>limits.set</c>). Idempotent.</summary>
    public Task<PupilView> SetDailyLimitAsync(long pupilId, LimitRequest request, CancellationToken cancellationToken)
    {
        long limit = Check.Required(request.DailyLimitTiyn, "dailyLimitTiyn");
        if (limit is < 0 or > MaxTopupTiyn) throw CentreRequestException.Invalid("dailyLimitTiyn", $"dailyLimitTiyn must be 0–{MaxTopupTiyn} tiyn (got {limit}); 0 means no offline spending.");
        return database.InTransactionAsync("setting a spending limit in", async (connection, transaction, ct) =>
        {
            var pupil = await Roster.RequirePupilAsync(connection, transaction, pupilId, ct, forUpdate: true).ConfigureAwait(false);
            if (pupil.DailyLimitTiyn == limit) return pupil;
            await using (var update = Sql.Command(connection, transaction, "UPDATE pupils SET daily_limit_tiyn = $2, updated_at = now() WHERE id = $1", pupilId, limit))
                await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await ChangeFeed.AppendAsync(connection, transaction, pupil.School, ChangeKinds.LimitsSet, new LimitsData(pupilId, limit),
                DownlinkJsonContext.Default.LimitsData, ct).ConfigureAwait(false);
            return pupil with { DailyLimitTiyn = limit };
        }, cancellationToken);
    }
}
