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

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var acks = Task.Run(() => ReadAcksAsync(cancellationToken), CancellationToken.None);
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
        await acks.ConfigureAwait(false);
    }

    private async Task<(bool Ok, OutboxBatch Batch)> PublishAsync(OutboxBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            return (await _connection.PublishAsync(_topicPrefix + "up/events", batch.Payload, cancellationToken).ConfigureAwait(false), batch);
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

    private async Task ReadAcksAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (topic, payload) in _connection.Incoming.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!topic.EndsWith("/down/acks", StringComparison.Ordinal)) continue;
                if (!TryReadWatermark(payload.Span, out string? epoch, out long watermark))
                {
                    SyncLog.BadAck(_logger, topic);
                    continue;
                }
                long stored = _batcher.Acknowledge(epoch!, watermark, _time.GetUtcNow());
                if (stored > Interlocked.Exchange(ref _watermark, stored)) Interlocked.Exchange(ref _lastProgress, _time.GetTimestamp());
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
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
}
