using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Kezekshi.Edge.Agent.Store;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Ledgers.Canteen;

/// <summary>
/// The canteen's double-entry ledger in integer tiyn, and everything the till needs: menu, shifts, sales, refunds,
/// voids, top-ups, parents' limits and bans, free-meal entitlements, the Z-report.
/// </summary>
/// <remarks>
/// Accounts: one per pupil, plus canteen revenue, top-up clearing, subsidy and cash (<see cref="RevenueAccount"/> …).
/// Every transaction's entries sum to zero (asserted before each insert); entries are append-only (SQLite triggers), so a
/// correction is a new transaction. Each transaction and its outbox event are committed together in one SQLite
/// transaction with synchronous=FULL: an acknowledged sale survives a power cut, and the centre hears of it exactly once.
/// Writes are serialised in-process and by <c>BEGIN IMMEDIATE</c>, so the read-check-write of a sale sees no other sale.
/// </remarks>
public sealed partial class CanteenLedger
{
    /// <summary>Fixed account IDs made by migration 4.</summary>
    public const long RevenueAccount = 1, TopUpClearingAccount = 2, SubsidyAccount = 3, CashAccount = 4;

    private readonly EdgeDatabase _database;
    private readonly CanteenOptions _options;
    private readonly ICentreReachability _centre;
    private readonly Lock _write = new();
    private readonly ILogger _logger;

    public CanteenLedger(EdgeDatabase database, CanteenOptions? options = null, ICentreReachability? centre = null, SchoolCalendar? calendar = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _logger = logger ?? NullLogger.Instance;
        _options = options ?? new CanteenOptions();
        _centre = centre ?? AlwaysReachable.Instance;
        Calendar = calendar ?? SchoolCalendar.Load(database);
    }

    public SchoolCalendar Calendar { get; }

    public CanteenOptions Options => _options;

    /// <summary>Sells the lines of <paramref name="request"/>. Refusals (funds, limit, ban…) come back as a status, not an exception.</summary>
    /// <exception cref="ArgumentException">The request is malformed (no key, no lines, bad quantity): a till bug.</exception>
    public ChargeResult Charge(ChargeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ValidateKey(request.IdempotencyKey);
        if (request.Lines is null || request.Lines.Count == 0) throw new ArgumentException("A sale needs at least one item.", nameof(request));
        foreach (var line in request.Lines)
        {
            if (line.Quantity < 1 || line.Quantity > _options.MaxQuantityPerLine)
                throw new ArgumentException($"Quantity {line.Quantity} of item {line.MenuItemId} is outside 1..{_options.MaxQuantityPerLine}; check the keying.", nameof(request));
        }
        if (request.Payment == PaymentMethod.Account && request.PupilId is null)
            throw new ArgumentException("Paying from an account needs the pupil: identify them by card or face, or take cash.", nameof(request));
        // The shift is not part of the sale's content: a retry after the till reopened its shift is still the same sale.
        string fingerprint = Fingerprint("charge", request.PupilId, request.Payment,
            string.Join(';', request.Lines.GroupBy(l => l.MenuItemId).OrderBy(g => g.Key).Select(g => $"{g.Key}x{g.Sum(l => l.Quantity)}")));

        lock (_write)
        {
            using var connection = Connect();
            using var transaction = connection.BeginTransaction(deferred: false);
            var previous = FindByKey(connection, transaction, request.IdempotencyKey);
            if (previous is not null)
            {
                if (previous.Fingerprint != fingerprint || previous.Kind != "charge")
                {
                    LedgerLog.IdempotencyConflict(_logger, request.IdempotencyKey, previous.Id);
                    return Refused(ChargeStatus.IdempotencyConflict, $"The sale key {request.IdempotencyKey} was already used for a different sale (transaction {previous.Id}); nothing was charged. The till must make a new key for each sale.");
                }
                long? balance = previous.PupilId is { } pp ? BalanceOf(connection, transaction, pp) : null;
                return new ChargeResult(ChargeStatus.Replayed, "Already charged; nothing charged again.", previous.Id, previous.Uid, previous.Total,
                    previous.FromAccount, previous.FromSubsidy, previous.FromCash, balance, []);
            }

            var shift = LoadShift(connection, transaction, request.ShiftId);
            if (shift is null || shift.ClosedAt is not null)
                return Refused(ChargeStatus.ShiftNotOpen, $"Shift {request.ShiftId} is not open: open a shift at this till first.");

            var items = new List<(MenuItem Item, int Quantity)>();
            foreach (var group in request.Lines.GroupBy(l => l.MenuItemId))
            {
                var item = LoadMenuItem(connection, transaction, group.Key);
                if (item is null || !item.Active)
                    return Refused(ChargeStatus.UnknownItem, $"Menu item {group.Key} is {(item is null ? "unknown" : "withdrawn from the menu")}; refresh the till's menu.");
                items.Add((item, group.Sum(l => l.Quantity)));
            }
            long total = checked(items.Sum(i => i.Item.Price * i.Quantity));

            var day = Calendar.DayOf(request.At);
            string dayText = LedgerSql.Day(day);
            long fromSubsidy = 0, pupilAccount = 0, balanceBefore = 0, spentToday = 0;
            var hits = new List<BanHit>();
            if (request.PupilId is { } pupilId)
            {
                if (LedgerSql.Scalar(connection, transaction, "SELECT status FROM pupils WHERE id = $p", ("$p", pupilId)) is not "active")
                    return Refused(ChargeStatus.UnknownPupil, $"Pupil {pupilId} is not an active pupil of this school; ask the office.");
                hits = BanHits(connection, transaction, pupilId, items.Select(i => i.Item));
                if (hits.Count > 0 && string.IsNullOrWhiteSpace(request.OverrideReason))
                {
                    return new ChargeResult(ChargeStatus.BlockedByBan,
                        "Blocked by the parent's ban: " + string.Join(", ", hits.Select(h => h.Allergen is null ? h.ItemName : $"{h.ItemName} ({h.Allergen})")) + ". Nothing was charged.",
                        null, null, total, 0, 0, 0, null, hits);
                }
                var meal = items.Where(i => i.Item.IsMeal).Select(i => i.Item).OrderByDescending(i => i.Price).FirstOrDefault();
                if (meal is not null && EntitledAmount(connection, transaction, pupilId, dayText) is { } cover)
                    fromSubsidy = Math.Min(meal.Price, cover);
                pupilAccount = EnsurePupilAccount(connection, transaction, pupilId);
                balanceBefore = BalanceOfAccount(connection, transaction, pupilAccount);
                spentToday = SpentOn(connection, transaction, pupilAccount, dayText);
            }
            long rest = total - fromSubsidy;
            long fromAccount = request.Payment == PaymentMethod.Account ? rest : 0;
            long fromCash = request.Payment == PaymentMethod.Cash ? rest : 0;
            bool offline = !_centre.IsCentreReachable;
            if (fromAccount > 0)
            {
                if (balanceBefore - fromAccount < _options.BalanceFloor)
                    return Refused(ChargeStatus.InsufficientFunds, $"Not enough money: balance {Tenge(balanceBefore)}, sale {Tenge(fromAccount)}. Nothing was charged.", total, balanceBefore);
                long? limit = request.PupilId is { } lp ? DailyLimitOf(connection, transaction, lp) : null;
                if (limit is { } l && spentToday + fromAccount > l)
                    return Refused(ChargeStatus.DailyLimitReached, $"The parent's daily limit is {Tenge(l)}; {Tenge(spentToday)} already spent today. Nothing was charged.", total, balanceBefore);
                if (offline && spentToday + fromAccount > _options.OfflineDailyCap)
                {
                    LedgerLog.OfflineCapReached(_logger, request.PupilId!.Value, _options.OfflineDailyCap);
                    return Refused(ChargeStatus.OfflineCapReached, $"The centre is unreachable, so spending is capped at {Tenge(_options.OfflineDailyCap)} a day; {Tenge(spentToday)} already spent today. Nothing was charged; cash is possible.", total, balanceBefore);
                }
            }

            string uid = Guid.NewGuid().ToString();
            long id = InsertTransaction(connection, transaction, uid, "charge", request.IdempotencyKey, fingerprint, request.PupilId, shift.Id, shift.CashierStaffId,
                null, null, hits.Count > 0 ? request.OverrideReason!.Trim() : null, request.At, dayText, total, fromAccount, fromSubsidy, fromCash, offline);
            int lineNo = 0;
            foreach (var (item, quantity) in items)
            {
                LedgerSql.Exec(connection, transaction, "INSERT INTO canteen_charge_lines(transaction_id, line, menu_item_id, quantity, unit_price) VALUES ($t, $l, $i, $q, $p)",
                    ("$t", id), ("$l", ++lineNo), ("$i", item.Id), ("$q", quantity), ("$p", item.Price));
            }
            var entries = new List<(long Account, long Amount)> { (RevenueAccount, total) };
            if (fromAccount != 0) entries.Add((pupilAccount, -fromAccount));
            if (fromSubsidy != 0) entries.Add((SubsidyAccount, -fromSubsidy));
            if (fromCash != 0) entries.Add((CashAccount, -fromCash));
            PostEntries(connection, transaction, id, entries);

            var at = LedgerSql.Time(request.At);
            LedgerOutbox.Append(connection, transaction, LedgerEvents.CanteenCharge, LedgerEvents.SchemaVersion, JsonSerializer.Serialize(
                new CanteenChargeEvent(LedgerEvents.SchemaVersion, uid, request.PupilId, shift.Till, shift.Id, shift.CashierStaffId, total, fromAccount, fromSubsidy, fromCash,
                    [.. items.Select(i => new ChargeEventLine(i.Item.Code, i.Quantity, i.Item.Price))], at, dayText, offline),
                LedgerJsonContext.Default.CanteenChargeEvent), request.At);
            foreach (var hit in hits)
            {
                string banned = hit.Allergen is null ? $"item {hit.ItemName}" : $"allergen {hit.Allergen} in {hit.ItemName}";
                LedgerSql.Exec(connection, transaction, "INSERT INTO canteen_ban_overrides(transaction_id, ban_id, staff_id, reason, at) VALUES ($t, $b, $s, $r, $at)",
                    ("$t", id), ("$b", hit.BanId), ("$s", shift.CashierStaffId), ("$r", request.OverrideReason!.Trim()), ("$at", at));
                LedgerOutbox.Append(connection, transaction, LedgerEvents.CanteenBanOverride, LedgerEvents.SchemaVersion, JsonSerializer.Serialize(
                    new CanteenBanOverrideEvent(LedgerEvents.SchemaVersion, uid, request.PupilId!.Value, hit.BanId, banned, shift.CashierStaffId, request.OverrideReason!.Trim(), at),
                    LedgerJsonContext.Default.CanteenBanOverrideEvent), request.At);
            }
            transaction.Commit();
            foreach (var hit in hits)
                LedgerLog.BanOverridden(_logger, id, request.PupilId!.Value, hit.Allergen is null ? $"item {hit.ItemName}" : $"allergen {hit.Allergen} in {hit.ItemName}", shift.CashierStaffId, request.OverrideReason!.Trim());
            return new ChargeResult(ChargeStatus.Accepted, hits.Count > 0 ? "Charged despite a ban (override logged)." : "Charged.", id, uid, total,
                fromAccount, fromSubsidy, fromCash, request.PupilId is null ? null : balanceBefore - fromAccount, hits);
        }
    }

    /// <summary>Refunds <see cref="RefundRequest.Amount"/> of a sale to where it was paid from (account or cash drawer).</summary>
    /// <exception cref="LedgerException">Unknown sale, already voided, more than is left to refund, or the key was used for something else.</exception>
    public CorrectionResult Refund(RefundRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ValidateKey(request.IdempotencyKey);
        ValidateReason(request.Reason);
        if (request.Amount <= 0) throw new ArgumentException($"A refund must be a positive amount of tiyn, not {request.Amount}.", nameof(request));
        string fingerprint = Fingerprint("refund", request.ChargeTransactionId, request.Amount, request.StaffId);
        return Correct("refund", request.IdempotencyKey, fingerprint, request.ChargeTransactionId, request.Reason, request.StaffId, request.ShiftId, request.At, request.Amount);
    }

    /// <summary>Cancels what is left of a sale, including its subsidy: the pupil's free meal for that day is available again.</summary>
    /// <exception cref="LedgerException">Unknown sale, already voided, or the key was used for something else.</exception>
    public CorrectionResult Void(VoidRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ValidateKey(request.IdempotencyKey);
        ValidateReason(request.Reason);
        string fingerprint = Fingerprint("void", request.ChargeTransactionId, request.StaffId);
        return Correct("void", request.IdempotencyKey, fingerprint, request.ChargeTransactionId, request.Reason, request.StaffId, request.ShiftId, request.At, null);
    }

    private CorrectionResult Correct(string kind, string key, string fingerprint, long chargeId, string reason, long staffId, long shiftId, DateTimeOffset at, long? amount)
    {
        lock (_write)
        {
            using var connection = Connect();
            using var transaction = connection.BeginTransaction(deferred: false);
            var previous = FindByKey(connection, transaction, key);
            if (previous is not null)
            {
                if (previous.Fingerprint != fingerprint || previous.Kind != kind)
                    throw new LedgerException($"The key {key} was already used for a different operation (transaction {previous.Id}); nothing was changed. Use a new key for each refund or void.");
                return new CorrectionResult(previous.Id, previous.Uid, previous.FromAccount, previous.FromCash, previous.FromSubsidy,
                    previous.PupilId is { } p ? BalanceOf(connection, transaction, p) : null, Replayed: true);
            }
            var charge = LoadTransaction(connection, transaction, chargeId);
            if (charge is null || charge.Kind != "charge") throw new LedgerException($"There is no sale {chargeId} to {kind}; check the receipt number.");
            if (LedgerSql.Scalar(connection, transaction, "SELECT 1 FROM staff WHERE id = $s AND status = 'active'", ("$s", staffId)) is null)
                throw new LedgerException($"Staff member {staffId} is not active staff of this school; a {kind} needs the cashier's identity.");
            var shift = LoadShift(connection, transaction, shiftId);
            if (shift is null || shift.ClosedAt is not null) throw new LedgerException($"Shift {shiftId} is not open: open a shift at this till first.");

            var (accountBack, cashBack, subsidyBack, voided) = Reversed(connection, transaction, chargeId);
            if (voided) throw new LedgerException($"Sale {chargeId} is already voided; nothing is left to give back.");
            long leftAccount = charge.FromAccount - accountBack, leftCash = charge.FromCash - cashBack, leftSubsidy = charge.FromSubsidy - subsidyBack;
            long toAccount, toCash, toSubsidy;
            if (kind == "void")
            {
                (toAccount, toCash, toSubsidy) = (leftAccount, leftCash, leftSubsidy);
            }
            else
            {
                long left = leftAccount + leftCash;
                if (amount!.Value > left)
                    throw new LedgerException($"Only {Tenge(left)} of sale {chargeId} is left to refund (asked {Tenge(amount.Value)}); a free meal's subsidy is returned only by a void.");
                toAccount = Math.Min(amount.Value, leftAccount);
                toCash = amount.Value - toAccount;
                toSubsidy = 0;
            }
            long total = toAccount + toCash + toSubsidy;
            long pupilAccount = charge.PupilId is { } pupilId ? EnsurePupilAccount(connection, transaction, pupilId) : 0;
            string uid = Guid.NewGuid().ToString();
            long id = InsertTransaction(connection, transaction, uid, kind, key, fingerprint, charge.PupilId, shift.Id, staffId, chargeId, reason.Trim(), null, at, charge.LocalDay,
                total, toAccount, toSubsidy, toCash, !_centre.IsCentreReachable);
            var entries = new List<(long Account, long Amount)> { (RevenueAccount, -total) };
            if (toAccount != 0) entries.Add((pupilAccount, toAccount));
            if (toSubsidy != 0) entries.Add((SubsidyAccount, toSubsidy));
            if (toCash != 0) entries.Add((CashAccount, toCash));
            PostEntries(connection, transaction, id, entries);
            LedgerOutbox.Append(connection, transaction, kind == "void" ? LedgerEvents.CanteenVoid : LedgerEvents.CanteenRefund, LedgerEvents.SchemaVersion, JsonSerializer.Serialize(
                new CanteenCorrectionEvent(LedgerEvents.SchemaVersion, uid, charge.Uid, charge.PupilId, toAccount, toCash, toSubsidy, reason.Trim(), staffId, LedgerSql.Time(at)),
                LedgerJsonContext.Default.CanteenCorrectionEvent), at);
            long? balance = charge.PupilId is null ? null : BalanceOfAccount(connection, transaction, pupilAccount);
            transaction.Commit();
            LedgerLog.Correction(_logger, kind, id, chargeId, total, staffId, reason.Trim());
            return new CorrectionResult(id, uid, toAccount, toCash, toSubsidy, balance, Replayed: false);
        }
    }

    /// <summary>
    /// Credits a top-up made at the centre (which is authoritative for top-ups). Idempotent by the centre's
    /// <paramref name="topUpId"/>: the sync inbox may deliver it any number of times.
    /// </summary>
    /// <exception cref="LedgerException">The same top-up ID arrived with a different pupil or amount, or the pupil is unknown here.</exception>
    public TopUpResult ApplyTopUp(string topUpId, long pupilId, long amount, DateTimeOffset at)
    {
        if (string.IsNullOrWhiteSpace(topUpId)) throw new ArgumentException("A top-up needs the centre's top-up ID.", nameof(topUpId));
        if (amount <= 0) throw new ArgumentException($"Top-up {topUpId}: the amount must be positive tiyn, not {amount}.", nameof(amount));
        string key = "topup:" + topUpId;
        string fingerprint = Fingerprint("topup", pupilId, amount);
        lock (_write)
        {
            using var connection = Connect();
            using var transaction = connection.BeginTransaction(deferred: false);
            var previous = FindByKey(connection, transaction, key);
            if (previous is not null)
            {
                if (previous.Fingerprint != fingerprint)
                {
                    LedgerLog.TopUpConflict(_logger, topUpId, pupilId, amount);
                    throw new LedgerException($"Top-up {topUpId} was applied before for pupil {previous.PupilId} and {Tenge(previous.Total)}, and now arrived for pupil {pupilId} and {Tenge(amount)}. The first is kept; check the top-up at the centre.");
                }
                return new TopUpResult(TopUpStatus.AlreadyApplied, previous.Id, BalanceOf(connection, transaction, pupilId));
            }
            if (LedgerSql.Scalar(connection, transaction, "SELECT 1 FROM pupils WHERE id = $p", ("$p", pupilId)) is null)
                throw new LedgerException($"Top-up {topUpId} is for pupil {pupilId}, who is not in this school's list yet; it is applied once the pupil arrives from the centre.");
            long account = EnsurePupilAccount(connection, transaction, pupilId);
            string uid = Guid.NewGuid().ToString();
            long id = InsertTransaction(connection, transaction, uid, "topup", key, fingerprint, pupilId, null, null, null, null, null, at, LedgerSql.Day(Calendar.DayOf(at)),
                amount, 0, 0, 0, false);
            PostEntries(connection, transaction, id, [(account, amount), (TopUpClearingAccount, -amount)]);
            long balance = BalanceOfAccount(connection, transaction, account);
            LedgerOutbox.Append(connection, transaction, LedgerEvents.CanteenTopUpApplied, LedgerEvents.SchemaVersion, JsonSerializer.Serialize(
                new CanteenTopUpEvent(LedgerEvents.SchemaVersion, uid, topUpId, pupilId, amount, balance, LedgerSql.Time(at)), LedgerJsonContext.Default.CanteenTopUpEvent), at);
            transaction.Commit();
            return new TopUpResult(TopUpStatus.Applied, id, balance);
        }
    }

    /// <summary>The pupil's balance in tiyn (0 when they never had a transaction).</summary>
    public long GetBalance(long pupilId)
    {
        using var connection = Connect();
        return BalanceOf(connection, null, pupilId);
    }

    /// <summary>Writes the entries of one transaction. Throws before writing if they do not sum to zero.</summary>
    internal static void PostEntries(SqliteConnection connection, SqliteTransaction transaction, long transactionId, IReadOnlyList<(long Account, long Amount)> entries)
    {
        long sum = 0;
        foreach (var (_, amount) in entries) sum = checked(sum + amount);
        if (sum != 0 || entries.Count < 2)
            throw new InvalidOperationException($"Transaction {transactionId} does not balance ({entries.Count} entries summing to {sum}); nothing was written. This is a bug.");
        foreach (var (account, amount) in entries)
        {
            if (amount == 0) continue;
            LedgerSql.Exec(connection, transaction, "INSERT INTO canteen_entries(transaction_id, account_id, amount) VALUES ($t, $a, $m)", ("$t", transactionId), ("$a", account), ("$m", amount));
            LedgerSql.Exec(connection, transaction, "UPDATE canteen_accounts SET balance = balance + $m WHERE id = $a", ("$a", account), ("$m", amount));
        }
    }

    private SqliteConnection Connect() => _database.Connect();

    private static ChargeResult Refused(ChargeStatus status, string message, long total = 0, long? balance = null) =>
        new(status, message, null, null, total, 0, 0, 0, balance, []);

    private static void ValidateKey(string key)
    {
        if (string.IsNullOrWhiteSpace(key) || key.Length > 200)
            throw new ArgumentException("Every sale, refund and void needs an idempotency key of 1..200 characters, made once per operation (a GUID).", nameof(key));
    }

    private static void ValidateReason(string reason)
    {
        if (string.IsNullOrWhiteSpace(reason) || reason.Trim().Length < 3)
            throw new ArgumentException("A refund or void needs a reason (at least 3 characters), e.g. \"wrong item keyed\".", nameof(reason));
    }

    private static string Fingerprint(params object?[] parts)
    {
        string text = string.Join('|', parts.Select(p => Convert.ToString(p, System.Globalization.CultureInfo.InvariantCulture) ?? "-"));
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];
    }

    /// <summary>Formats tiyn as tenge for messages: 12345 → "123.45 ₸".</summary>
    public static string Tenge(long tiyn) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{(tiyn < 0 ? "-" : "")}{Math.Abs(tiyn) / 100}.{Math.Abs(tiyn) % 100:D2} ₸");

    private sealed record StoredTransaction(long Id, string Uid, string Kind, string? Fingerprint, long? PupilId, long Total, long FromAccount, long FromSubsidy, long FromCash, string LocalDay);

    private const string TransactionColumns = "id, uid, kind, fingerprint, pupil_id, total, from_account, from_subsidy, from_cash, local_day";

    private static StoredTransaction ReadTransaction(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), r.GetString(2), LedgerSql.NullableString(r, 3), LedgerSql.NullableLong(r, 4), r.GetInt64(5), r.GetInt64(6), r.GetInt64(7), r.GetInt64(8), r.GetString(9));

    private static StoredTransaction? FindByKey(SqliteConnection connection, SqliteTransaction transaction, string key) =>
        LedgerSql.Query(connection, transaction, $"SELECT {TransactionColumns} FROM canteen_transactions WHERE idempotency_key = $k", ReadTransaction, ("$k", key)).FirstOrDefault();

    private static StoredTransaction? LoadTransaction(SqliteConnection connection, SqliteTransaction transaction, long id) =>
        LedgerSql.Query(connection, transaction, $"SELECT {TransactionColumns} FROM canteen_transactions WHERE id = $i", ReadTransaction, ("$i", id)).FirstOrDefault();

    private static (long Account, long Cash, long Subsidy, bool Voided) Reversed(SqliteConnection connection, SqliteTransaction transaction, long chargeId) =>
        LedgerSql.Query(connection, transaction,
            "SELECT COALESCE(SUM(from_account),0), COALESCE(SUM(from_cash),0), COALESCE(SUM(from_subsidy),0), COALESCE(MAX(kind = 'void'),0) FROM canteen_transactions WHERE original_id = $o",
            r => (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3) != 0), ("$o", chargeId))[0];

    private static long InsertTransaction(SqliteConnection connection, SqliteTransaction transaction, string uid, string kind, string? key, string? fingerprint,
        long? pupilId, long? shiftId, long? staffId, long? originalId, string? reason, string? overrideReason, DateTimeOffset at, string localDay,
        long total, long fromAccount, long fromSubsidy, long fromCash, bool offline) =>
        LedgerSql.Long(connection, transaction, """
            INSERT INTO canteen_transactions(uid, kind, idempotency_key, fingerprint, pupil_id, shift_id, staff_id, original_id, reason, override_reason, at, local_day, total, from_account, from_subsidy, from_cash, offline)
            VALUES ($uid, $kind, $key, $fp, $pupil, $shift, $staff, $orig, $reason, $override, $at, $day, $total, $acc, $sub, $cash, $offline) RETURNING id
            """,
            ("$uid", uid), ("$kind", kind), ("$key", key), ("$fp", fingerprint), ("$pupil", pupilId), ("$shift", shiftId), ("$staff", staffId), ("$orig", originalId),
            ("$reason", reason), ("$override", overrideReason), ("$at", LedgerSql.Time(at)), ("$day", localDay), ("$total", total), ("$acc", fromAccount),
            ("$sub", fromSubsidy), ("$cash", fromCash), ("$offline", offline ? 1 : 0));

    private static long EnsurePupilAccount(SqliteConnection connection, SqliteTransaction transaction, long pupilId)
    {
        if (LedgerSql.Scalar(connection, transaction, "SELECT id FROM canteen_accounts WHERE pupil_id = $p", ("$p", pupilId)) is long id) return id;
        return LedgerSql.Long(connection, transaction, "INSERT INTO canteen_accounts(kind, pupil_id) VALUES ('pupil', $p) RETURNING id", ("$p", pupilId));
    }

    private static long BalanceOf(SqliteConnection connection, SqliteTransaction? transaction, long pupilId) =>
        LedgerSql.Long(connection, transaction, "SELECT balance FROM canteen_accounts WHERE pupil_id = $p", ("$p", pupilId));

    private static long BalanceOfAccount(SqliteConnection connection, SqliteTransaction? transaction, long accountId) =>
        LedgerSql.Long(connection, transaction, "SELECT balance FROM canteen_accounts WHERE id = $a", ("$a", accountId));

    /// <summary>Net spending from the account on a school day: sales minus what was given back for that day's sales.</summary>
    private static long SpentOn(SqliteConnection connection, SqliteTransaction? transaction, long accountId, string day) =>
        -LedgerSql.Long(connection, transaction,
            "SELECT COALESCE(SUM(e.amount), 0) FROM canteen_entries e JOIN canteen_transactions t ON t.id = e.transaction_id WHERE e.account_id = $a AND t.local_day = $d AND t.kind IN ('charge','refund','void')",
            ("$a", accountId), ("$d", day));

    private static long? DailyLimitOf(SqliteConnection connection, SqliteTransaction? transaction, long pupilId) =>
        LedgerSql.Scalar(connection, transaction, "SELECT daily_limit FROM canteen_daily_limits WHERE pupil_id = $p", ("$p", pupilId)) is long l ? l : null;

    /// <summary>How much of a meal the pupil's entitlement covers today, or null when none applies or today's meal was had.</summary>
    private static long? EntitledAmount(SqliteConnection connection, SqliteTransaction? transaction, long pupilId, string day)
    {
        if (LedgerSql.Scalar(connection, transaction, """
            SELECT MAX(max_amount) FROM canteen_entitlements WHERE pupil_id = $p AND valid_from <= $d AND (valid_until IS NULL OR valid_until >= $d)
            """, ("$p", pupilId), ("$d", day)) is not long cover) return null;
        bool eaten = LedgerSql.Scalar(connection, transaction, """
            SELECT 1 FROM canteen_transactions c WHERE c.pupil_id = $p AND c.local_day = $d AND c.kind = 'charge' AND c.from_subsidy > 0
              AND NOT EXISTS (SELECT 1 FROM canteen_transactions v WHERE v.original_id = c.id AND v.kind = 'void') LIMIT 1
            """, ("$p", pupilId), ("$d", day)) is not null;
        return eaten ? null : cover;
    }

    private static List<BanHit> BanHits(SqliteConnection connection, SqliteTransaction? transaction, long pupilId, IEnumerable<MenuItem> items)
    {
        var bans = LoadBans(connection, transaction, pupilId);
        var hits = new List<BanHit>();
        foreach (var item in items)
        {
            foreach (var ban in bans)
            {
                if (ban.Kind == BanKind.Item && ban.MenuItemId == item.Id) hits.Add(new BanHit(ban.Id, ban.Kind, item.Id, item.Name, null));
                else if (ban.Kind == BanKind.Allergen && item.Allergens.Contains(ban.Allergen!, StringComparer.Ordinal)) hits.Add(new BanHit(ban.Id, ban.Kind, item.Id, item.Name, ban.Allergen));
            }
        }
        return hits;
    }
}
