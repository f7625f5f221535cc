using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Sync;

/// <summary>Log lines of the downlink's snapshots (docs/sync-protocol.md §5.4); each says what happened and what follows.</summary>
internal static partial class DownlinkLog
{
    [LoggerMessage(EventId = 3031, Level = LogLevel.Information, Message = "The centre sent a snapshot starting at version {Begin} while this school had applied {Applied}: the snapshot replaces the versions in between (new or reset gate PC, or the school was behind the centre's feed).")]
    public static partial void SnapshotJump(ILogger logger, long begin, long applied);
}
