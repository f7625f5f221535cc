using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Kezekshi.Mqtt;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Server.Sync.Ingest;

/// <summary>
/// One centre ingest worker: takes school event batches from the broker (a shared subscription, so any
/// number of workers on any broker node split the load), applies each through <see cref="EventIngestor"/>
/// and, only after it is committed, answers the school with its watermark on <c>down/acks</c>
/// (docs/sync-protocol.md §4.2). A bad message is dead-lettered by the ingestor and the stream goes on.
/// </summary>
/// <remarks>With <paramref name="sessions"/> it also answers <c>up/hello</c> and <c>up/acks</c> and sends the downlink.</remarks>
public sealed class MqttIngestWorker(MqttClient client, EventIngestor ingestor, ILogger<MqttIngestWorker> logger, TimeProvider? time = null,
    Downlink.SchoolSessions? sessions = null, IReadOnlyList<string>? uplinkFilters = null)
{
    /// <summary>The shared subscription all workers use: every uplink stream of every school.</summary>
    public const string UplinkFilter = "$share/kz-ingest/kz/v1/+/+/up/#";

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    // Plain disjoint filters where the broker has no shared subscriptions (RabbitMQ): Centre:Mqtt:UplinkFilters.
    private readonly IReadOnlyList<string> _filters = uplinkFilters is { Count: > 0 } ? uplinkFilters : [UplinkFilter];

    public long BatchesApplied => Interlocked.Read(ref _applied);
    private long _applied;

    public long MessagesDeadLettered => Interlocked.Read(ref _deadLettered);
    private long _deadLettered;

    /// <summary>Subscribes (again after every connection) and ingests until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        client.Connected += (_, _) => _ = SubscribeAsync(cancellationToken);
        if (client.IsConnected) await SubscribeAsync(cancellationToken).ConfigureAwait(false);
        // Several batches in progress: one is parsed while another commits. Batches of one school still apply one at a
        // time (the stream's row lock), and their watermarks may leave out of order: the edge keeps the highest.
        using var slots = new SemaphoreSlim(Concurrency);
        var running = new List<Task>();
        // Messages read ahead while gathering a group, in arrival order.
        var readAhead = new LinkedList<MqttMessage>();
        var messages = client.Messages;
        try
        {
            while (true)
            {
                MqttMessage message;
                if (readAhead.First is { } first)
                {
                    message = first.Value;
                    readAhead.RemoveFirst();
                }
                else if (!messages.TryRead(out message!))
                {
                    if (!await messages.WaitToReadAsync(cancellationToken).ConfigureAwait(false)) break;
                    continue;
                }
                bool hello = message.Topic.EndsWith("/up/hello", StringComparison.Ordinal);
                if (hello || message.Topic.EndsWith("/up/acks", StringComparison.Ordinal))
                {
                    if (sessions is null) continue;
                    try
                    {
                        if (hello) await sessions.OnHelloAsync(message.Topic, message.Payload, cancellationToken).ConfigureAwait(false);
                        else await sessions.OnAppliedAsync(message.Topic, message.Payload, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Store.CentreStoreException e)
                    {
                        logger.LogError("A message on {Topic} could not be handled: {Problem} The school repeats it (hello on reconnect, acks with the next changes).", message.Topic, e.Message);
                    }
                    continue;
                }
                await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                running.RemoveAll(t => t.IsCompleted);
                running.Add(IngestAndAcknowledgeAsync(Gather(message, readAhead, messages), slots, cancellationToken));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        await Task.WhenAll(running).ConfigureAwait(false);
    }

    /// <summary>
    /// Group commit: <paramref name="first"/> and the event batches already waiting (read ahead or queued), of this school
    /// and of others, up to <see cref="MaxGroup"/> messages and <see cref="MaxGroupBytes"/>, go to the database together:
    /// a catch-up's queue of one school's batches, or the morning peak's many schools with one or two events each.
    /// Other messages (hello, acks) keep their arrival order.
    /// </summary>
    private List<MqttMessage> Gather(MqttMessage first, LinkedList<MqttMessage> readAhead, System.Threading.Channels.ChannelReader<MqttMessage> messages)
    {
        var group = new List<MqttMessage> { first };
        long bytes = first.Payload.Length;
        bool Fits(MqttMessage m) => IsEvents(m.Topic) && group.Count < MaxGroup && bytes + m.Payload.Length <= MaxGroupBytes;
        for (var node = readAhead.First; node is not null && group.Count < MaxGroup;)
        {
            var next = node.Next;
            if (Fits(node.Value))
            {
                group.Add(node.Value);
                bytes += node.Value.Payload.Length;
                readAhead.Remove(node);
            }
            node = next;
        }
        // Reading ahead holds no more than the channel already held; the bound keeps a group from passing over many
        // hello and acks messages.
        while (group.Count < MaxGroup && readAhead.Count < MaxReadAhead && messages.TryRead(out var queued))
        {
            if (Fits(queued))
            {
                group.Add(queued);
                bytes += queued.Payload.Length;
            }
            else
            {
                readAhead.AddLast(queued);
            }
        }
        return group;
    }

    private static bool IsEvents(string topic) => topic.EndsWith("/up/events", StringComparison.Ordinal);

    /// <summary>Most <c>up/events</c> messages applied in one transaction (of one school or many).</summary>
    public int MaxGroup { get; init; } = 64;

    /// <summary>Most payload bytes in one group (8 full 500-event batches of ~204 KiB): bounds the memory a group holds.</summary>
    public long MaxGroupBytes { get; init; } = 2 * 1024 * 1024;

    private const int MaxReadAhead = 64;

    /// <summary>Event batches ingested at the same time by this worker.</summary>
    public int Concurrency { get; init; } = 3;

    private async Task IngestAndAcknowledgeAsync(List<MqttMessage> group, SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        string topics = group.Count == 1 ? group[0].Topic : string.Create(CultureInfo.InvariantCulture, $"{group.Select(m => m.Topic).Distinct().Count()} topics");
        try
        {
            await Task.Yield();
            var results = await ingestor.IngestManyAsync(group.ConvertAll(m => (m.Topic, m.Payload)), cancellationToken).ConfigureAwait(false);
            // Messages applied together share one result: one watermark answers them all. A null result was not stored
            // (logged by the ingestor) and is not answered: the school sends it again.
            var answered = new HashSet<IngestResult>(ReferenceEqualityComparer.Instance);
            for (int i = 0; i < results.Count; i++)
            {
                if (results[i] is not { } result) continue;
                if (result.Outcome == IngestOutcome.DeadLettered) Interlocked.Increment(ref _deadLettered);
                else Interlocked.Increment(ref _applied);
                if (!answered.Add(result)) continue;
                if (result.School is not { } school || result.Epoch is not { } epoch || result.Watermark is not { } watermark
                    || RegionOf(group[i].Topic) is not { } region)
                    continue;
                long started = StageTimings.Start();
                var ack = BuildWatermark(region, school, epoch, watermark, result.Missing, result.DeadLetteredSeqs, _time.GetUtcNow());
                var published = await client.PublishAsync($"kz/v1/{region}/{school}/down/acks", ack, 1, false, cancellationToken).ConfigureAwait(false);
                ingestor.Timings?.Add(EventIngestor.StageAck, started);
                if (!published.IsSuccess)
                    logger.LogWarning("The broker refused the watermark for {School} ({Reason}); the school will send again and be answered then.", school, published.ReasonText);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Store.CentreStoreException e)
        {
            // Not stored, not acknowledged: the schools send these events again, so nothing is lost.
            logger.LogError("{Count} batch(es) on {Topic} could not be stored: {Problem} They are not acknowledged; the school sends them again.", group.Count, topics, e.Message);
        }
        catch (MqttException e)
        {
            logger.LogWarning("A watermark for {Topic} could not be sent ({Problem}); the school asks again after reconnecting.", topics, e.Message);
        }
        finally
        {
            slots.Release();
        }
    }

    private async Task SubscribeAsync(CancellationToken cancellationToken)
    {
        foreach (string filter in _filters)
        {
            try
            {
                await client.SubscribeAsync(filter, 1, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is MqttException or OperationCanceledException)
            {
                logger.LogError("Could not subscribe to {Filter}: {Problem}. Check this worker's certificate and the broker ACL.", filter, e.Message);
            }
        }
    }

    private static string? RegionOf(string topic)
    {
        var parts = topic.Split('/');
        return parts.Length >= 4 && parts[0] == "kz" && parts[1] == "v1" ? parts[2] : null;
    }

    /// <summary>A <c>down/acks</c> watermark message (docs/sync-protocol.md §4.2).</summary>
    public static ReadOnlyMemory<byte> BuildWatermark(string region, string school, Guid epoch, long watermark,
        IEnumerable<SeqRange> missing, IEnumerable<long> deadLettered, DateTimeOffset now)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using var json = new Utf8JsonWriter(buffer);
        json.WriteStartObject();
        json.WriteNumber("schemaVersion", 1);
        json.WriteString("type", "watermark");
        json.WriteString("school", school);
        json.WriteString("region", region);
        json.WriteString("msgId", Guid.CreateVersion7(now).ToString("N"));
        json.WriteString("sentAt", now.ToString("O", CultureInfo.InvariantCulture));
        json.WriteString("epoch", epoch.ToString("D"));
        json.WriteNumber("watermark", watermark);
        json.WriteStartArray("missing");
        foreach (var range in missing)
        {
            json.WriteStartArray();
            json.WriteNumberValue(range.From);
            json.WriteNumberValue(range.To);
            json.WriteEndArray();
        }
        json.WriteEndArray();
        json.WriteStartArray("deadLettered");
        foreach (long seq in deadLettered) json.WriteNumberValue(seq);
        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        return buffer.WrittenMemory;
    }
}
