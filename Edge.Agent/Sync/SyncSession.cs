using System.Buffers;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Sync;

/// <summary>
/// The school's conversation with the centre (docs/sync-protocol.md §4–§6): after every connection it says
/// <c>hello</c> (what it holds and has applied, so the centre answers with its watermark and the missing changes),
/// routes <c>down/acks</c> to the <see cref="OutboxPublisher"/> and <c>down/changes</c> to the <see cref="DownlinkApplier"/>,
/// and acknowledges applied changes on <c>up/acks</c>. Uplink and downlink catch up independently.
/// </summary>
public sealed class SyncSession
{
    private readonly ISyncConnection _connection;
    private readonly OutboxPublisher _publisher;
    private readonly OutboxBatcher _batcher;
    private readonly DownlinkApplier _applier;
    private readonly string _region;
    private readonly string _school;
    private readonly string _topicPrefix;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private CancellationToken _stopping;

    public SyncSession(ISyncConnection connection, OutboxBatcher batcher, OutboxPublisher publisher, DownlinkApplier applier,
        string region, string school, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _batcher = batcher;
        _publisher = publisher;
        _applier = applier;
        _region = region;
        _school = school;
        _topicPrefix = $"kz/v1/{region}/{school}/";
        _logger = logger;
        _time = time ?? TimeProvider.System;
        connection.Connected += () => _ = SayHelloAsync();
    }

    public OutboxPublisher Publisher => _publisher;

    /// <summary>Downlink versions applied by this session (for the IT console and tests).</summary>
    public long AppliedVersion => Interlocked.Read(ref _appliedVersion);
    private long _appliedVersion;

    /// <summary>When the last message from the centre arrived (null: none yet); the canteen's offline cap keys on it.</summary>
    public DateTimeOffset? LastHeardFromCentre => _lastHeard == 0 ? null : new DateTimeOffset(Interlocked.Read(ref _lastHeard), TimeSpan.Zero);
    private long _lastHeard;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _stopping = cancellationToken;
        Interlocked.Exchange(ref _appliedVersion, _applier.AppliedVersion());
        if (_connection.IsConnected) await SayHelloAsync().ConfigureAwait(false);
        var publishing = Task.Run(() => _publisher.RunAsync(cancellationToken), CancellationToken.None);
        try
        {
            await foreach (var (topic, payload) in _connection.Incoming.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                Interlocked.Exchange(ref _lastHeard, _time.GetUtcNow().UtcTicks);
                if (topic.EndsWith("/down/acks", StringComparison.Ordinal)) _publisher.OnAcknowledgement(topic, payload.Span);
                else if (topic.EndsWith("/down/changes", StringComparison.Ordinal)) await OnChangesAsync(payload).ConfigureAwait(false);
                else SyncLog.UnexpectedTopic(_logger, topic);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        await publishing.ConfigureAwait(false);
    }

    private async Task OnChangesAsync(ReadOnlyMemory<byte> payload)
    {
        DownlinkOutcome outcome;
        try
        {
            outcome = _applier.Apply(payload.Span);
        }
        catch (Exception e) when (e is Store.StoreException or Microsoft.Data.Sqlite.SqliteException or IOException)
        {
            SyncLog.ApplyFailed(_logger, e.Message);
            return;
        }
        Interlocked.Exchange(ref _appliedVersion, outcome.AppliedVersion);
        switch (outcome.Status)
        {
            case DownlinkStatus.Applied:
                SyncLog.ChangesApplied(_logger, outcome.AppliedVersion, outcome.AppliedChanges, outcome.Rejected.Count);
                await SendAsync("up/acks", Applied(outcome), "the applied version").ConfigureAwait(false);
                break;
            case DownlinkStatus.AlreadyApplied:
                await SendAsync("up/acks", Applied(outcome), "the applied version").ConfigureAwait(false);
                break;
            case DownlinkStatus.Gap:
                await SayHelloAsync().ConfigureAwait(false);
                break;
            case DownlinkStatus.Malformed:
                break;
        }
    }

    /// <summary>Sends <c>hello</c>: the centre answers with the watermark and re-sends changes after our applied version.</summary>
    public async Task SayHelloAsync()
    {
        try
        {
            await SendAsync("up/hello", Hello(), "hello").ConfigureAwait(false);
        }
        catch (Exception e) when (e is Store.StoreException or Microsoft.Data.Sqlite.SqliteException)
        {
            SyncLog.SendFailed(_logger, "hello", e.Message);
        }
    }

    private async Task SendAsync(string stream, ReadOnlyMemory<byte> payload, string what)
    {
        try
        {
            if (!await _connection.PublishAsync(_topicPrefix + stream, payload, _stopping).ConfigureAwait(false))
                SyncLog.SendFailed(_logger, what, "the broker refused it");
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            SyncLog.SendFailed(_logger, what, e.Message);
        }
    }

    private ReadOnlyMemory<byte> Hello()
    {
        var (epoch, watermark) = _batcher.ReadState();
        var (firstUnacked, last) = _batcher.Range();
        return Envelope("hello", json =>
        {
            json.WriteString("epoch", epoch);
            json.WriteString("agentVersion", AgentVersion);
            json.WriteNumber("outboxFirstUnacked", firstUnacked);
            json.WriteNumber("outboxLast", last);
            json.WriteNumber("watermarkSeen", watermark);
            json.WriteNumber("appliedVersion", _applier.AppliedVersion());
            if (_applier.TemplateKeys is { } keys)
            {
                // The public half only: the centre seals nothing itself, it hands this to the school a pupil's templates come from.
                json.WriteStartObject("templateKey");
                json.WriteString("keyId", keys.KeyId);
                json.WriteString("alg", "ECDH-P256");
                json.WriteString("publicKey", Convert.ToBase64String(keys.PublicKey));
                json.WriteEndObject();
            }
            json.WriteStartObject("supports");
            json.WriteStartArray("changes");
            json.WriteNumberValue(DownlinkApplier.EnvelopeSchemaVersion);
            json.WriteEndArray();
            foreach (string kind in _applier.Kinds.Order(StringComparer.Ordinal))
            {
                json.WriteStartArray(kind);
                json.WriteNumberValue(1);
                json.WriteEndArray();
            }
            json.WriteEndObject();
        });
    }

    private ReadOnlyMemory<byte> Applied(DownlinkOutcome outcome) => Envelope("applied", json =>
    {
        json.WriteNumber("appliedVersion", outcome.AppliedVersion);
        json.WriteStartArray("rejected");
        foreach (var (version, reason) in outcome.Rejected)
        {
            json.WriteStartObject();
            json.WriteNumber("version", version);
            json.WriteString("reason", reason.Length <= 1000 ? reason : reason[..1000]);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("purged");
        foreach (var purge in outcome.Purged)
        {
            json.WriteStartObject();
            json.WriteString("consentId", purge.ConsentId);
            json.WriteNumber("templates", purge.Templates);
            json.WriteString("at", purge.At.ToString("O", CultureInfo.InvariantCulture));
            json.WriteEndObject();
        }
        json.WriteEndArray();
    });

    private ReadOnlyMemory<byte> Envelope(string type, Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using var json = new Utf8JsonWriter(buffer);
        var now = _time.GetUtcNow();
        json.WriteStartObject();
        json.WriteNumber("schemaVersion", 1);
        json.WriteString("type", type);
        json.WriteString("school", _school);
        json.WriteString("region", _region);
        json.WriteString("msgId", Guid.CreateVersion7(now).ToString("N"));
        json.WriteString("sentAt", now.ToString("O", CultureInfo.InvariantCulture));
        body(json);
        json.WriteEndObject();
        json.Flush();
        return buffer.WrittenMemory;
    }

    private static readonly string AgentVersion =
        typeof(SyncSession).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
}
