using System.Text.Json.Serialization;

namespace Kezekshi.Edge.Agent.Ledgers;

/// <summary>
/// Outbox payloads of the ledgers (schema version 1). Pupils appear only by their numeric ID, which the centre maps
/// to a person; no names, no card numbers.
/// </summary>
internal static class LedgerEvents
{
    public const int SchemaVersion = 1;
    public const string CanteenCharge = "canteen.charge";
    public const string CanteenRefund = "canteen.refund";
    public const string CanteenVoid = "canteen.void";
    public const string CanteenTopUpApplied = "canteen.topup-applied";
    public const string CanteenBanOverride = "canteen.ban-override";
    public const string CanteenShiftClosed = "canteen.shift-closed";
    public const string LibraryLoan = "library.loan";
    public const string LibraryReturn = "library.return";
    public const string LibraryRenewal = "library.renewal";
    public const string LibraryLost = "library.lost";
}

internal sealed record ChargeEventLine(string Code, int Quantity, long UnitPrice);

internal sealed record CanteenChargeEvent(int SchemaVersion, string Uid, long? PupilId, string Till, long ShiftId, long StaffId,
    long Total, long FromAccount, long FromSubsidy, long FromCash, IReadOnlyList<ChargeEventLine> Items, string At, string Day, bool Offline);

internal sealed record CanteenCorrectionEvent(int SchemaVersion, string Uid, string OriginalUid, long? PupilId, long ToAccount, long ToCash, long ToSubsidy,
    string Reason, long StaffId, string At);

internal sealed record CanteenTopUpEvent(int SchemaVersion, string Uid, string TopUpId, long PupilId, long Amount, long BalanceAfter, string At);

internal sealed record CanteenBanOverrideEvent(int SchemaVersion, string ChargeUid, long PupilId, long BanId, string Banned, long StaffId, string Reason, string At);

internal sealed record CanteenShiftClosedEvent(int SchemaVersion, long ShiftId, string Till, long StaffId, long SalesTotal, long ExpectedCash, long CountedCash, long OverShort, string At);

internal sealed record LibraryEvent(int SchemaVersion, long LoanId, string Barcode, string? Isbn, long PupilId, string DueOn, int Renewals, string At);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(CanteenChargeEvent))]
[JsonSerializable(typeof(CanteenCorrectionEvent))]
[JsonSerializable(typeof(CanteenTopUpEvent))]
[JsonSerializable(typeof(CanteenBanOverrideEvent))]
[JsonSerializable(typeof(CanteenShiftClosedEvent))]
[JsonSerializable(typeof(LibraryEvent))]
internal sealed partial class LedgerJsonContext : JsonSerializerContext;
