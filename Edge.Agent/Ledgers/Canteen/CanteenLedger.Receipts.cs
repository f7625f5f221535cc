using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Agent.Ledgers.Canteen;

// Receipts: what a sale was, for printing and for choosing a sale to refund or void.
public sealed partial class CanteenLedger
{
    /// <summary>The receipt of sale <paramref name="transactionId"/>, or null if there is no such sale.</summary>
    public Receipt? GetReceipt(long transactionId)
    {
        using var connection = Connect();
        return Receipts(connection, "t.id = $x", ("$x", transactionId), 1).FirstOrDefault();
    }

    /// <summary>The latest sales of a shift, newest first (the till's "recent sales" list for refunds and voids).</summary>
    public IReadOnlyList<Receipt> RecentSales(long shiftId, int count = 20)
    {
        using var connection = Connect();
        return Receipts(connection, "t.shift_id = $x", ("$x", shiftId), count);
    }

    private static List<Receipt> Receipts(SqliteConnection connection, string where, (string, object?) parameter, int count)
    {
        var heads = LedgerSql.Query(connection, null, $"""
            SELECT t.id, t.uid, t.at, t.shift_id, s.till, t.pupil_id, p.full_name, t.total, t.from_account, t.from_subsidy, t.from_cash, t.override_reason,
                   COALESCE((SELECT SUM(v.total) FROM canteen_transactions v WHERE v.original_id = t.id), 0),
                   EXISTS (SELECT 1 FROM canteen_transactions v WHERE v.original_id = t.id AND v.kind = 'void')
            FROM canteen_transactions t JOIN canteen_shifts s ON s.id = t.shift_id LEFT JOIN pupils p ON p.id = t.pupil_id
            WHERE t.kind = 'charge' AND {where} ORDER BY t.id DESC LIMIT $n
            """, r => (Id: r.GetInt64(0), Uid: r.GetString(1), At: LedgerSql.ParseTime(r.GetString(2)), Shift: r.GetInt64(3), Till: r.GetString(4),
                Pupil: LedgerSql.NullableLong(r, 5), Name: LedgerSql.NullableString(r, 6), Total: r.GetInt64(7), Account: r.GetInt64(8), Subsidy: r.GetInt64(9),
                Cash: r.GetInt64(10), Override: LedgerSql.NullableString(r, 11), Back: r.GetInt64(12), Voided: r.GetInt64(13) != 0), parameter, ("$n", count));
        var receipts = new List<Receipt>(heads.Count);
        foreach (var h in heads)
        {
            var lines = LedgerSql.Query(connection, null, """
                SELECT m.code, m.name, l.quantity, l.unit_price FROM canteen_charge_lines l JOIN canteen_menu_items m ON m.id = l.menu_item_id WHERE l.transaction_id = $t ORDER BY l.line
                """, r => new ReceiptLine(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetInt64(3)), ("$t", h.Id));
            receipts.Add(new Receipt(h.Id, h.Uid, h.At, h.Shift, h.Till, h.Pupil, h.Name, lines, h.Total, h.Account, h.Subsidy, h.Cash, h.Back, h.Voided, h.Override));
        }
        return receipts;
    }
}
