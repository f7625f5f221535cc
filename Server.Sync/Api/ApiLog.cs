using Microsoft.Extensions.Logging;

namespace Kezekshi.Server.Sync.Api;

/// <summary>Source-generated log messages of the centre's HTTP API (event IDs 4100–4199). Each says what to do.</summary>
internal static partial class ApiLog
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "No API key configured for role {Role}: its endpoints answer 401. Set Centre:ApiKeys:{Role} (environment: Centre__ApiKeys__{Variable}=$(openssl rand -hex 32)) if it is needed.")]
    public static partial void RoleDisabled(ILogger logger, string role, string variable);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "Refused {Method} {Path} from {Remote}: {Reason}.")]
    public static partial void Refused(ILogger logger, string method, string path, string remote, string reason);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "Consent {ConsentId} of pupil {PupilId} ended ({Status}) by {Operator}: consent.revoke sent to {Schools}.")]
    public static partial void ConsentEnded(ILogger logger, string consentId, long pupilId, string status, string @operator, string schools);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Information, Message = "Top-up {TopupId}: {AmountTiyn} tiyn for pupil {PupilId} from {Source}.")]
    public static partial void TopupRecorded(ILogger logger, string topupId, long amountTiyn, long pupilId, string source);

    [LoggerMessage(EventId = 4110, Level = LogLevel.Information, Message = "Template transfer {TransferId} of pupil {PupilId} from {From} to {To} requested by {Operator}: template.export.request queued for {From}.")]
    public static partial void TransferRequested(ILogger logger, string transferId, long pupilId, string from, string to, string @operator);

    [LoggerMessage(EventId = 4111, Level = LogLevel.Information, Message = "Snapshot {SnapshotId} written to the feed of {School} as versions {From}–{To} ({Reason}); the school applies it on its next batch and removes what the centre no longer has.")]
    public static partial void ResyncWritten(ILogger logger, string school, string snapshotId, long from, long to, string reason);
}
