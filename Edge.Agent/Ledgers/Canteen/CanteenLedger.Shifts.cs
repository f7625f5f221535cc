using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Agent.Ledgers.Canteen;

// Till shifts, the Z-report with the blind count, and the checks and reports over the ledger.
public sealed partial class CanteenLedger
{
    /// <summary>Opens a shift at <paramref name="till"/> for a cashier with the cash float in the drawer.</summary>
    /// <exception cref="LedgerException">The till already has an open shift, or the cashier is not active staff.</exception>
    public TillShift OpenShift(string till, long cashierStaffId, long openingFloat, DateTimeOffset at)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(till);
        if (openingFloat < 0) throw new ArgumentException("The opening float cannot be negative.", nameof(openingFloat));
        lock (_write)
        {
            using var connection = Connect();
            using var transaction = connection.BeginTransaction(deferred: false);
            if (LedgerSql.Scalar(connection, transaction, "SELECT 1 FROM staff WHERE id = $s AND status = 'active'", ("$s", cashierStaffId)) is null)
                throw new LedgerException($"Staff member {cashierStaffId} is not active staff of this school; a shift needs the cashier's identity.");
            if (LedgerSql.Scalar(connection, transaction, "SELECT id FROM canteen_shifts WHERE till = $t AND closed_at IS NULL", ("$t", till)) is long open)
                throw new LedgerException($"Till {till} already has an open shift ({open}): close it with the cash count first.");
            long id = LedgerSql.Long(connection, transaction, "INSERT INTO canteen_shifts(till, cashier_staff_id, opening_float, opened_at) VALUES ($t, $s, $f, $at) RETURNING id",
                ("$t", till), ("$s", cashierStaffId), ("$f", openingFloat), ("$at", LedgerSql.Time(at)));
            transaction.Commit();
            return new TillShift(id, till, cashierStaffId, openingFloat, at, null);
        }
    }

    /// <summary>The open shift at <paramref name="till"/>, if any.</summary>
    public TillShift? GetOpenShift(string till)
    {
        using var connection = Connect();
        return LedgerSql.Query(connection, null, $"SELECT {ShiftColumns} FROM canteen_shifts WHERE till = $t AND closed_at IS NULL", ReadShift, ("$t", till)).FirstOrDefault();
    }

    public TillShift? GetShift(long shiftId)
    {
        using var connection = Connect();
        return LoadShift(connection, null, shiftId);
    }

    /// <summary>
    /// Closes a shift with the cashier's blind cash count and returns the Z-report with expected cash and over/short.
    /// Closing an already closed shift with the same count returns its report again.
    /// </summary>
    public ZReport CloseShift(long shiftId, long countedCash, DateTimeOffset at)
    {
        if (countedCash < 0) throw new ArgumentException("The counted cash cannot be negative.", nameof(countedCash));
        lock (_write)
        {
            using var connection = Connect();
            using var transaction = connection.BeginTransaction(deferred: false);
            var shift = LoadShift(connection, transaction, shiftId) ?? throw new LedgerException($"There is no shift {shiftId}.");
            if (shift.ClosedAt is not null)
            {
                var closed = Report(connection, transaction, shift);
                if (closed.CountedCash != countedCash) throw new LedgerException($"Shift {shiftId} was closed before with a count of {Tenge(closed.CountedCash ?? 0)}; a count cannot be changed afterwards.");
                return closed;
            }
            var open = Report(connection, transaction, shift);
            long expected = ExpectedCash(open);
            LedgerSql.Exec(connection, transaction, "UPDATE canteen_shifts SET closed_at = $at, counted_cash = $c, expected_cash = $e WHERE id = $i",
                ("$at", LedgerSql.Time(at)), ("$c", countedCash), ("$e", expected), ("$i", shiftId));
            LedgerOutbox.Append(connection, transaction, LedgerEvents.CanteenShiftClosed, LedgerEvents.SchemaVersion, JsonSerializer.Serialize(
                new CanteenShiftClosedEvent(LedgerEvents.SchemaVersion, shiftId, shift.Till, shift.CashierStaffId, open.SalesTotal, expected, countedCash, countedCash - expected, LedgerSql.Time(at)),
                LedgerJsonContext.Default.CanteenShiftClosedEvent), at);
            var report = Report(connection, transaction, LoadShift(connection, transaction, shiftId)!);
            transaction.Commit();
            LedgerLog.ShiftClosed(_logger, shift.Till, shiftId, expected, countedCash, countedCash - expected);
            return report;
        }
    }

    /// <summary>The shift's report. For an open shift the expected cash is withheld (blind count).</summary>
    public ZReport GetZReport(long shiftId)
    {
        using var connection = Connect();
        var shift = LoadShift(connection, null, shiftId) ?? throw new LedgerException($"There is no shift {shiftId}.");
        return Report(connection, null, shift);
    }

    private static long ExpectedCash(ZReport r) => r.OpeningFloat + r.FromCash - r.RefundedCash;

    private static ZReport Report(SqliteConnection connection, SqliteTransaction? transaction, TillShift shift)
    {
        var totals = LedgerSql.Query(connection, transaction, """
            SELECT
              COALESCE(SUM(kind = 'charge'), 0), COALESCE(SUM(CASE WHEN kind = 'charge' THEN total END), 0),
              COALESCE(SUM(CASE WHEN kind = 'charge' THEN from_account END), 0), COALESCE(SUM(CASE WHEN kind = 'charge' THEN from_subsidy END), 0),
              COALESCE(SUM(CASE WHEN kind = 'charge' THEN from_cash END), 0),
              COALESCE(SUM(kind = 'refund'), 0), COALESCE(SUM(CASE WHEN kind = 'refund' THEN total END), 0),
              COALESCE(SUM(kind = 'void'), 0), COALESCE(SUM(CASE WHEN kind = 'void' THEN total END), 0),
              COALESCE(SUM(CASE WHEN kind IN ('refund','void') THEN from_cash END), 0)
            FROM canteen_transactions WHERE shift_id = $s
            """, r => (Sales: (int)r.GetInt64(0), SalesTotal: r.GetInt64(1), Account: r.GetInt64(2), Subsidy: r.GetInt64(3), Cash: r.GetInt64(4),
                Refunds: (int)r.GetInt64(5), Refunded: r.GetInt64(6), Voids: (int)r.GetInt64(7), Voided: r.GetInt64(8), CashBack: r.GetInt64(9)), ("$s", shift.Id))[0];
        int overrides = (int)LedgerSql.Long(connection, transaction,
            "SELECT COUNT(*) FROM canteen_ban_overrides o JOIN canteen_transactions t ON t.id = o.transaction_id WHERE t.shift_id = $s", ("$s", shift.Id));
        var closing = LedgerSql.Query(connection, transaction, "SELECT counted_cash, expected_cash FROM canteen_shifts WHERE id = $s",
            r => (Counted: LedgerSql.NullableLong(r, 0), Expected: LedgerSql.NullableLong(r, 1)), ("$s", shift.Id))[0];
        return new ZReport(shift.Id, shift.Till, shift.CashierStaffId, shift.OpenedAt, shift.ClosedAt, totals.Sales, totals.SalesTotal, totals.Account, totals.Subsidy, totals.Cash,
            totals.Refunds, totals.Refunded, totals.Voids, totals.Voided, overrides, shift.OpeningFloat, closing.Counted, closing.Expected,
            closing.Counted - closing.Expected)
        { RefundedCash = totals.CashBack };
    }

    /// <summary>
    /// Checks the whole ledger: every transaction's entries sum to zero, every account's stored balance equals the sum of
    /// its entries, and every transaction has entries. Empty problems = balanced.
    /// </summary>
    public LedgerCheck Verify()
    {
        using var connection = Connect();
        var problems = new List<string>();
        foreach (var (id, sum) in LedgerSql.Query(connection, null,
            "SELECT transaction_id, SUM(amount) FROM canteen_entries GROUP BY transaction_id HAVING SUM(amount) <> 0", r => (r.GetInt64(0), r.GetInt64(1))))
            problems.Add($"transaction {id}: entries sum to {sum}, not 0");
        foreach (var (id, stored, sum) in LedgerSql.Query(connection, null,
            "SELECT a.id, a.balance, COALESCE(SUM(e.amount), 0) FROM canteen_accounts a LEFT JOIN canteen_entries e ON e.account_id = a.id GROUP BY a.id HAVING a.balance <> COALESCE(SUM(e.amount), 0)",
            r => (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2))))
            problems.Add($"account {id}: stored balance {stored}, entries sum to {sum}");
        foreach (long id in LedgerSql.Query(connection, null,
            "SELECT t.id FROM canteen_transactions t WHERE t.total <> 0 AND NOT EXISTS (SELECT 1 FROM canteen_entries e WHERE e.transaction_id = t.id)", r => r.GetInt64(0)))
            problems.Add($"transaction {id}: has no entries");
        long total = LedgerSql.Long(connection, null, "SELECT COALESCE(SUM(amount), 0) FROM canteen_entries");
        if (total != 0) problems.Add($"all entries sum to {total}, not 0");
        return new LedgerCheck(LedgerSql.Long(connection, null, "SELECT COUNT(*) FROM canteen_transactions"), LedgerSql.Long(connection, null, "SELECT COUNT(*) FROM canteen_entries"), problems);
    }

    /// <summary>A pupil's account movements between two instants, oldest first.</summary>
    public IReadOnlyList<StatementLine> Statement(long pupilId, DateTimeOffset from, DateTimeOffset until)
    {
        using var connection = Connect();
        return LedgerSql.Query(connection, null, """
            SELECT t.id, t.kind, t.at, COALESCE((SELECT SUM(e.amount) FROM canteen_entries e JOIN canteen_accounts a ON a.id = e.account_id WHERE e.transaction_id = t.id AND a.pupil_id = $p), 0),
                   t.from_subsidy, t.reason
            FROM canteen_transactions t WHERE t.pupil_id = $p ORDER BY t.id
            """, r => new StatementLine(r.GetInt64(0), r.GetString(1), LedgerSql.ParseTime(r.GetString(2)), r.GetInt64(3), r.GetInt64(4), LedgerSql.NullableString(r, 5)),
            ("$p", pupilId)).Where(l => l.At >= from && l.At < until).ToList();
    }

    /// <summary>Sales that went through despite a parent's ban, with who and why, between two instants.</summary>
    public IReadOnlyList<BanOverride> BanOverrides(DateTimeOffset from, DateTimeOffset until)
    {
        using var connection = Connect();
        return LedgerSql.Query(connection, null, """
            SELECT o.transaction_id, t.pupil_id, p.full_name, o.ban_id,
                   CASE b.kind WHEN 'item' THEN 'item ' || m.name ELSE 'allergen ' || b.allergen END, o.staff_id, o.reason, o.at
            FROM canteen_ban_overrides o JOIN canteen_transactions t ON t.id = o.transaction_id JOIN pupils p ON p.id = t.pupil_id
            JOIN canteen_bans b ON b.id = o.ban_id LEFT JOIN canteen_menu_items m ON m.id = b.menu_item_id
            ORDER BY o.id
            """, r => new BanOverride(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetInt64(3), r.GetString(4), r.GetInt64(5), r.GetString(6), LedgerSql.ParseTime(r.GetString(7))))
            .Where(o => o.At >= from && o.At < until).ToList();
    }

    private const string ShiftColumns = "id, till, cashier_staff_id, opening_float, opened_at, closed_at";

    private static TillShift ReadShift(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), LedgerSql.ParseTime(r.GetString(4)), r.IsDBNull(5) ? null : LedgerSql.ParseTime(r.GetString(5)));

    private static TillShift? LoadShift(SqliteConnection connection, SqliteTransaction? transaction, long id) =>
        LedgerSql.Query(connection, transaction, $"SELECT {ShiftColumns} FROM canteen_shifts WHERE id = $i", ReadShift, ("$i", id)).FirstOrDefault();
}
