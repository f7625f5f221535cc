using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Sync;

/// <summary>What the publisher needs from an MQTT connection (implemented over libmosquitto; tests may loop it back).</summary>
public interface ISyncConnection
{
    bool IsConnected { get; }

    /// <summary>Publishes at QoS 1; true once the broker acknowledged (PUBACK with a success reason code).</summary>
    Task<bool> PublishAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);

    /// <summary>Messages from the school's downlink topics.</summary>
    ChannelReader<(string Topic, ReadOnlyMemory<byte> Payload)> Incoming { get; }

    /// <summary>Raised after every (re)connection.</summary>
    event Action? Connected;
}

/// <summary>
/// Sends the outbox to the centre and applies its watermarks (docs/sync-protocol.md §4): publishes
/// consecutive batches from a cursor, moves the cursor on PUBACK, and only a watermark from the centre
/// takes events out of the outbox. After a reconnect, or when no watermark covers what was sent within
/// <see cref="ResendAfter"/>, it sends again from the watermark: duplicates are harmless at the centre.
/// Watermarks reach it through <see cref="OnAcknowledgement"/> from <see cref="SyncSession"/>, which reads the downlink.
/// </summary>
public sealed class OutboxPublisher
{
    private readonly OutboxBatcher _batcher;
    private readonly ISyncConnection _connection;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _topicPrefix;
    private readonly string _epoch;
    private long _cursor;
    private long _watermark;
    private long _lastProgress;
    private volatile bool _resend = true;
    private TaskCompletionSource _watermarkMoved = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public OutboxPublisher(OutboxBatcher batcher, ISyncConnection connection, string region, string school, ILogger logger, TimeProvider? time = null)
    {
        _batcher = batcher;
        _connection = connection;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _topicPrefix = $"kz/v1/{region}/{school}/";
        (_epoch, _watermark) = batcher.ReadState();
        _cursor = _watermark;
        _lastProgress = _time.GetTimestamp();
        connection.Connected += () => _resend = true;
    }

    /// <summary>Resend from the watermark when a sent batch is not covered by one within this time.</summary>
    public TimeSpan ResendAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an empty outbox is looked at again.</summary>
    public TimeSpan IdlePoll { get; init; } = TimeSpan.FromMilliseconds(250);

    public long Watermark => Interlocked.Read(ref _watermark);

    public long EventsSent { get; private set; }

    /// <summary>Batches published and not yet acknowledged by the broker (libmosquitto's in-flight window).</summary>
    public int MaxInFlight { get; init; } = 8;

    /// <summary>
    /// Most events sent ahead of the centre's watermark. The broker acknowledges a batch as soon as it has it, so without
    /// this a 30-day backlog would be pushed into the broker's and the centre's queues as fast as the link allows;
    /// with it, what a school has in transit is bounded (16,000 events ≈ 32 batches ≈ 6.5 MB) and it moves at the
    /// centre's pace. Large enough to keep the centre's group commit fed (docs/sync-protocol.md §4.4).
    /// </summary>
    public int MaxUnacknowledgedEvents { get; init; } = 16_000;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var inFlight = new List<Task<(bool Ok, OutboxBatch Batch)>>(MaxInFlight);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // Collect finished publishes; a refusal sends everything again from the watermark, after a pause.
                bool refused = false;
                for (int i = inFlight.Count - 1; i >= 0; i--)
                {
                    if (!inFlight[i].IsCompleted) continue;
                    var (ok, done) = await inFlight[i].ConfigureAwait(false);
                    inFlight.RemoveAt(i);
                    if (ok) EventsSent += done.Count;
                    else
                    {
                        SyncLog.PublishRefused(_logger, done.FirstSeq, done.LastSeq);
                        _resend = true;
                        refused = true;
                    }
                }
                if (refused) await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(false);
                if (!_connection.IsConnected)
                {
                    await Task.Delay(IdlePoll, _time, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (_resend || (_cursor > Watermark && _time.GetElapsedTime(Interlocked.Read(ref _lastProgress)) > ResendAfter))
                {
                    _resend = false;
                    _cursor = Watermark;
                    Interlocked.Exchange(ref _lastProgress, _time.GetTimestamp());
                }
                if (inFlight.Count >= MaxInFlight)
                {
                    await Task.WhenAny(inFlight).WaitAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }
                var watermarkMoved = Volatile.Read(ref _watermarkMoved).Task;
                if (_cursor - Watermark >= MaxUnacknowledgedEvents)
                {
                    // Far enough ahead: wait for the centre (or for the resend rule above, if it went quiet).
                    await Task.WhenAny(watermarkMoved, Task.Delay(IdlePoll, _time, cancellationToken)).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                    continue;
                }
                var batch = _batcher.Next(_cursor, _epoch, _time.GetUtcNow());
                if (batch is null)
                {
                    if (inFlight.Count > 0) await Task.WhenAny([Task.WhenAny(inFlight), Task.Delay(IdlePoll, _time, cancellationToken)]).ConfigureAwait(false);
                    else await Task.Delay(IdlePoll, _time, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                _cursor = batch.LastSeq;
                inFlight.Add(PublishAsync(batch, cancellationToken));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task<(bool Ok, OutboxBatch Batch)> PublishAsync(OutboxBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            long started = Kezekshi.Mqtt.StageTimings.Start();
            bool ok = await _connection.PublishAsync(_topicPrefix + "up/events", batch.Payload, cancellationToken).ConfigureAwait(false);
            _batcher.Timings?.Add(OutboxBatcher.StagePublish, started);
            return (ok, batch);
        }
        catch (OperationCanceledException)
        {
            return (false, batch);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The connection failed the publish (disposed, offline for good): send again from the watermark.
            _logger.LogDebug(e, "Publishing outbox events {First}–{Last} failed", batch.FirstSeq, batch.LastSeq);
            return (false, batch);
        }
    }

    /// <summary>Takes a <c>down/acks</c> message from the session's router: a watermark covering sent events takes them out of the outbox.</summary>
    public void OnAcknowledgement(string topic, ReadOnlySpan<byte> payload)
    {
        if (!TryReadWatermark(payload, out string? epoch, out long watermark))
        {
            SyncLog.BadAck(_logger, topic);
            return;
        }
        long stored = _batcher.Acknowledge(epoch!, watermark, _time.GetUtcNow());
        if (stored > Interlocked.Exchange(ref _watermark, stored))
        {
            Interlocked.Exchange(ref _lastProgress, _time.GetTimestamp());
            Interlocked.Exchange(ref _watermarkMoved, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    /// <summary>Reads a <c>watermark</c> message; false for anything malformed (never throws on bad input).</summary>
    public static bool TryReadWatermark(ReadOnlySpan<byte> payload, out string? epoch, out long watermark)
    {
        epoch = null;
        watermark = 0;
        try
        {
            var reader = new Utf8JsonReader(payload);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("schemaVersion", out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out int v) || v != 1
                || !root.TryGetProperty("type", out var type) || type.GetString() != "watermark"
                || !root.TryGetProperty("epoch", out var e) || e.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("watermark", out var w) || !w.TryGetInt64(out watermark) || watermark < 0)
                return false;
            epoch = e.GetString();
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}

internal static partial class SyncLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "The broker refused outbox events {First}–{Last} (not authorised?); retrying in 1 s. Check the school's certificate and the broker ACL.")]
    public static partial void PublishRefused(ILogger logger, long first, long last);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Ignored a malformed acknowledgement on {Topic}; the outbox keeps its events until a valid one arrives.")]
    public static partial void BadAck(ILogger logger, string topic);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Ignored a downlink change message: {Problem}. The centre sends it again; if this repeats, the centre and this agent disagree on the protocol (check both versions).")]
    public static partial void MalformedChanges(ILogger logger, string problem);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Downlink changes from version {From} arrived but only {Applied} is applied here; asking the centre to send the missing ones first.")]
    public static partial void DownlinkGap(ILogger logger, long from, long applied);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Rejected downlink change {Version} ({Kind}): {Reason}. It is reported to the centre and kept in inbox_rejections; the other changes are applied.")]
    public static partial void ChangeRejected(ILogger logger, long version, string kind, string reason);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Applied downlink changes up to version {Version} ({Count} new, {Rejected} rejected).")]
    public static partial void ChangesApplied(ILogger logger, long version, int count, int rejected);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Could not send {What} to the centre: {Problem}. It is sent again after the next connection.")]
    public static partial void SendFailed(ILogger logger, string what, string problem);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Error, Message = "Applying downlink changes failed in the local store: {Problem}. Nothing of the message was kept; the centre sends it again.")]
    public static partial void ApplyFailed(ILogger logger, string problem);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Debug, Message = "Ignored a message on an unexpected topic {Topic}.")]
    public static partial void UnexpectedTopic(ILogger logger, string topic);
}
