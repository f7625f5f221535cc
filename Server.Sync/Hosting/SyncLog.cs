using Microsoft.Extensions.Logging;

namespace Kezekshi.Server.Sync.Hosting;

/// <summary>Source-generated log messages of the centre sync service, with central event IDs (4000–4999). Each says what to do.</summary>
internal static partial class SyncLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Dead letter from school {School} on {Topic}: {Reason} ({Detail}). Stored in dead_letters; the stream goes on. If it repeats, check the school's agent version and registry entry.")]
    public static partial void MessageDeadLettered(ILogger logger, string school, string topic, string reason, string detail);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "School {School} epoch {Epoch}: {Count} event(s) dead-lettered ({Reason}), first seq {Seq}. They count as applied; replay them from dead_letters after upgrading the centre.")]
    public static partial void EventsDeadLettered(ILogger logger, string school, Guid epoch, int count, string reason, long seq);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Debug, Message = "School {School} epoch {Epoch}: {Inserted} new, {Duplicates} duplicate event(s); watermark {Watermark}.")]
    public static partial void BatchApplied(ILogger logger, string school, Guid epoch, int inserted, int duplicates, long watermark);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Centre database ready (schema {Version}).")]
    public static partial void DatabaseReady(ILogger logger, int version);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "Attempt {Attempt} of {MaxAttempts} failed, retrying: {Problem}")]
    public static partial void DatabaseRetry(ILogger logger, int attempt, int maxAttempts, string problem);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "School {School} epoch {Epoch}: PostgreSQL refused a batch of {Count} event(s) for its content ({SqlState}); applying it in halves to find the refused event(s), the rest is stored.")]
    public static partial void IsolatingEvents(ILogger logger, string school, Guid epoch, int count, string sqlState);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "School {School} epoch {Epoch}: event seq {Seq} refused by PostgreSQL ({SqlState}: {Problem}); dead-lettered as invalid-event, the stream goes on. Look at the payload in dead_letters and at the school's agent that sent it.")]
    public static partial void EventRefused(ILogger logger, string school, Guid epoch, long seq, string sqlState, string problem);
}
