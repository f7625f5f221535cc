namespace Kezekshi.Edge.Agent.Ledgers.Canteen;

/// <summary>Money rules of the canteen. All amounts are integer tiyn (1 tenge = 100 tiyn).</summary>
public sealed record CanteenOptions
{
    /// <summary>The lowest a pupil's balance may go. 0 = no credit; -50000 would allow 500 ₸ of credit.</summary>
    public long BalanceFloor { get; init; }

    /// <summary>While the centre is unreachable, the most a pupil may spend from the account per school day (issue 4 §5).</summary>
    public long OfflineDailyCap { get; init; } = 150_000;

    /// <summary>How many of one item a single sale may hold; more is taken as a keying error.</summary>
    public int MaxQuantityPerLine { get; init; } = 20;
}

/// <summary>Whether the centre has been reachable recently; the lead's sync wires the real answer.</summary>
/// <remarks>The centre is authoritative for top-ups. While it is unreachable a parent's top-up or a block set at the centre
/// may not have arrived, so the till caps each pupil's spending per day (issue 4 §5).</remarks>
public interface ICentreReachability
{
    bool IsCentreReachable { get; }
}

/// <summary>The default until sync says otherwise: the centre counts as reachable.</summary>
public sealed class AlwaysReachable : ICentreReachability
{
    public static readonly AlwaysReachable Instance = new();
    public bool IsCentreReachable => true;
}

/// <summary>A menu item. <see cref="Price"/> is in tiyn; <see cref="IsMeal"/> items can be covered by a free-meal entitlement.</summary>
public sealed record MenuItem(long Id, string Code, string Name, long Price, string Category, bool IsMeal, IReadOnlyList<string> Allergens, string? PhotoPath, bool Active);

/// <summary>What is needed to add or change a menu item (matched by <see cref="Code"/>).</summary>
public sealed record MenuItemDraft(string Code, string Name, long Price, string Category = "other", bool IsMeal = false,
    IReadOnlyList<string>? Allergens = null, string? PhotoPath = null, bool Active = true);

/// <summary>How a sale is paid: from the pupil's canteen account, or in cash at the till.</summary>
public enum PaymentMethod { Account, Cash }

/// <summary>One line of a sale.</summary>
public sealed record ChargeLine(long MenuItemId, int Quantity = 1);

/// <summary>
/// A sale at the till. <see cref="IdempotencyKey"/> is made by the till once per sale (a GUID): sending the same
/// request again returns the stored result and never charges twice.
/// </summary>
/// <param name="PupilId">The pupil identified by card or face; null for an anonymous cash sale.</param>
/// <param name="OverrideReason">Set only to sell despite a parent's ban; logged and reported.</param>
public sealed record ChargeRequest(string IdempotencyKey, long ShiftId, long? PupilId, IReadOnlyList<ChargeLine> Lines, DateTimeOffset At,
    PaymentMethod Payment = PaymentMethod.Account, string? OverrideReason = null);

/// <summary>The outcome of a sale. Only <see cref="Accepted"/> and <see cref="Replayed"/> took money.</summary>
public enum ChargeStatus
{
    /// <summary>Charged now.</summary>
    Accepted,
    /// <summary>This idempotency key was charged before with the same content; nothing new was charged.</summary>
    Replayed,
    /// <summary>The balance would fall below the floor.</summary>
    InsufficientFunds,
    /// <summary>The parent's daily spending limit would be exceeded.</summary>
    DailyLimitReached,
    /// <summary>The centre is unreachable and the offline daily cap would be exceeded.</summary>
    OfflineCapReached,
    /// <summary>A parent banned an item or allergen in the sale: hard block, the till alerts; an override needs a reason.</summary>
    BlockedByBan,
    /// <summary>The idempotency key was used before for a different sale: a till bug or a reused key.</summary>
    IdempotencyConflict,
    /// <summary>The shift is closed or unknown: open a shift first.</summary>
    ShiftNotOpen,
    /// <summary>An item is unknown or withdrawn from the menu.</summary>
    UnknownItem,
    /// <summary>The pupil is unknown or has left the school.</summary>
    UnknownPupil,
}

/// <summary>A ban that blocked (or, overridden, did not block) a sale.</summary>
public sealed record BanHit(long BanId, BanKind Kind, long MenuItemId, string ItemName, string? Allergen);

/// <summary>The result of <see cref="CanteenLedger.Charge"/>. Amounts in tiyn.</summary>
public sealed record ChargeResult(ChargeStatus Status, string Message, long? TransactionId, string? TransactionUid,
    long Total, long FromAccount, long FromSubsidy, long FromCash, long? BalanceAfter, IReadOnlyList<BanHit> Bans)
{
    /// <summary>True when the sale is paid (now or by the earlier identical request).</summary>
    public bool Succeeded => Status is ChargeStatus.Accepted or ChargeStatus.Replayed;
}

/// <summary>Give back part of a paid sale, to where it was paid from. Reason and the staff member doing it are required.</summary>
public sealed record RefundRequest(string IdempotencyKey, long ChargeTransactionId, long Amount, string Reason, long StaffId, long ShiftId, DateTimeOffset At);

/// <summary>Cancel a sale entirely (what is not yet refunded, including a free meal, which becomes available again).</summary>
public sealed record VoidRequest(string IdempotencyKey, long ChargeTransactionId, string Reason, long StaffId, long ShiftId, DateTimeOffset At);

/// <summary>The result of a refund or void. <see cref="Replayed"/> is true when the same key was applied before.</summary>
public sealed record CorrectionResult(long TransactionId, string TransactionUid, long ToAccount, long ToCash, long ToSubsidy, long? BalanceAfter, bool Replayed);

/// <summary>Whether a top-up from the centre was applied now or had been applied before.</summary>
public enum TopUpStatus { Applied, AlreadyApplied }

/// <summary>The result of <see cref="CanteenLedger.ApplyTopUp"/>.</summary>
public sealed record TopUpResult(TopUpStatus Status, long TransactionId, long BalanceAfter);

/// <summary>What a parent banned: one menu item, or every item with an allergen.</summary>
public enum BanKind { Item, Allergen }

/// <summary>A parent's ban on an item or an allergen for their child.</summary>
public sealed record Ban(long Id, long PupilId, BanKind Kind, long? MenuItemId, string? Allergen, string SetBy, DateTimeOffset SetAt);

/// <summary>A free or subsidised meal entitlement: one meal a day, covered up to <see cref="MaxAmount"/> tiyn.</summary>
/// <param name="Program">e.g. <c>primary-grades</c>, <c>social-wallet</c>.</param>
public sealed record Entitlement(long Id, long PupilId, string Program, long MaxAmount, DateOnly ValidFrom, DateOnly? ValidUntil);

/// <summary>A cashier's shift at one till.</summary>
public sealed record TillShift(long Id, string Till, long CashierStaffId, long OpeningFloat, DateTimeOffset OpenedAt, DateTimeOffset? ClosedAt);

/// <summary>
/// The end-of-shift report. <see cref="ExpectedCash"/> and <see cref="OverShort"/> are null until the shift is closed with
/// the blind count: the cashier counts the drawer without seeing what the till expects.
/// </summary>
public sealed record ZReport(long ShiftId, string Till, long CashierStaffId, DateTimeOffset OpenedAt, DateTimeOffset? ClosedAt,
    int Sales, long SalesTotal, long FromAccounts, long FromSubsidy, long FromCash,
    int Refunds, long RefundedTotal, int Voids, long VoidedTotal, int BanOverrides,
    long OpeningFloat, long? CountedCash, long? ExpectedCash, long? OverShort)
{
    /// <summary>Cash given back from the drawer by refunds and voids in this shift.</summary>
    public long RefundedCash { get; init; }
}

/// <summary>What the till shows when a pupil is identified.</summary>
public sealed record PupilAtTill(long PupilId, string FullName, string ClassName, long Balance, long? DailyLimit, long SpentToday,
    bool EntitledMealAvailable, IReadOnlyList<Ban> Bans);

/// <summary>A sale that went through despite a ban, for the report to the school and parents.</summary>
public sealed record BanOverride(long TransactionId, long PupilId, string PupilName, long BanId, string Banned, long StaffId, string Reason, DateTimeOffset At);

/// <summary>One line of a pupil's statement. <see cref="Amount"/> is the change to the balance.</summary>
public sealed record StatementLine(long TransactionId, string Kind, DateTimeOffset At, long Amount, long FromSubsidy, string? Reason);

/// <summary>The result of <see cref="CanteenLedger.Verify"/>: empty <see cref="Problems"/> means the ledger balances.</summary>
public sealed record LedgerCheck(long Transactions, long Entries, IReadOnlyList<string> Problems)
{
    public bool Balanced => Problems.Count == 0;
}

/// <summary>One line of a receipt.</summary>
public sealed record ReceiptLine(string Code, string Name, int Quantity, long UnitPrice)
{
    public long Amount => UnitPrice * Quantity;
}

/// <summary>A sale as the till prints it, with what has been given back since (refunds and voids).</summary>
public sealed record Receipt(long TransactionId, string Uid, DateTimeOffset At, long ShiftId, string Till, long? PupilId, string? PupilName,
    IReadOnlyList<ReceiptLine> Lines, long Total, long FromAccount, long FromSubsidy, long FromCash, long GivenBack, bool Voided, string? OverrideReason);
