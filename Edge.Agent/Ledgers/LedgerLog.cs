using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Ledgers;

/// <summary>Source-generated log messages of the ledgers (event IDs 4000–4099). Pupils by ID only, never by name.</summary>
internal static partial class LedgerLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Sale {TransactionId} to pupil {PupilId} went through despite the parent's ban on {Banned}; staff {StaffId} gave the reason \"{Reason}\". It is in the ban-override report.")]
    public static partial void BanOverridden(ILogger logger, long transactionId, long pupilId, string banned, long staffId, string reason);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "The sale key {Key} came again with a different sale (first used by transaction {TransactionId}); nothing was charged. The till software reuses keys: report this with the log.")]
    public static partial void IdempotencyConflict(ILogger logger, string key, long transactionId);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Error, Message = "Top-up {TopUpId} arrived again with a different pupil or amount (now pupil {PupilId}, {Amount} tiyn); the first is kept. Check the top-up at the centre.")]
    public static partial void TopUpConflict(ILogger logger, string topUpId, long pupilId, long amount);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "{Kind} {TransactionId} of sale {ChargeId}: {Amount} tiyn back, by staff {StaffId}, reason \"{Reason}\".")]
    public static partial void Correction(ILogger logger, string kind, long transactionId, long chargeId, long amount, long staffId, string reason);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "Till {Till} shift {ShiftId} closed: expected {Expected} tiyn in the drawer, counted {Counted}, over/short {OverShort}.")]
    public static partial void ShiftClosed(ILogger logger, string till, long shiftId, long expected, long counted, long overShort);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Information, Message = "The centre is unreachable: pupil {PupilId}'s sale was refused at the offline cap of {Cap} tiyn a day.")]
    public static partial void OfflineCapReached(ILogger logger, long pupilId, long cap);
}
