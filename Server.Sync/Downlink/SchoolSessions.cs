using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Kezekshi.Server.Sync.Ingest;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Server.Sync.Downlink;

/// <summary>Publishes one message at QoS 1; true once the broker acknowledged it.</summary>
public delegate Task<bool> PublishMessage(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);

/// <summary>
/// The centre's half of each school's conversation (docs/sync-protocol.md §5, §6): answers <c>hello</c> with the school's
/// watermark and sends its changes from the version it has applied, keeps up to <see cref="Window"/> change messages in
/// flight, moves on as <c>up/acks</c> come in, sends again from the acknowledged version when nothing moved for
/// <see cref="ResendAfter"/>, and pushes new changes to schools it has heard from. Any worker may run this for any school:
/// duplicates are skipped by version at the edge.
/// </summary>
public sealed partial class SchoolSessions(DownlinkFeed feed, EventIngestor ingestor, PublishMessage publish, ILogger<SchoolSessions> logger, TimeProvider? time = null)
{
    private sealed class SchoolState(string region)
    {
        public readonly SemaphoreSlim Lock = new(1, 1);
        public string Region = region;
        public long Acknowledged;
        public long SentUpTo;
        public long LastProgress;
    }

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, SchoolState> _schools = new(StringComparer.Ordinal);

    /// <summary>Change messages sent to a school and not yet acknowledged.</summary>
    public int Window { get; init; } = 8;

    /// <summary>Send again from the acknowledged version when sent changes are not acknowledged within this time.</summary>
    public TimeSpan ResendAfter { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A school that has applied nothing gets a snapshot instead of the whole history when its feed holds more changes than
    /// this (docs/sync-protocol.md §5.4); below it, replaying the feed is as cheap and exactly as complete.
    /// </summary>
    public long SnapshotAbove { get; init; } = 5_000;

    /// <summary>How often the feed is looked at for new changes for connected schools.</summary>
    public TimeSpan Poll { get; init; } = TimeSpan.FromMilliseconds(500);

    public long HellosAnswered => Interlocked.Read(ref _hellos);
    private long _hellos;

    [GeneratedRegex("^kz/v1/([a-z0-9-]{2,32})/([a-z0-9-]{3,40})/up/(hello|acks)$", RegexOptions.CultureInvariant)]
    private static partial Regex SessionTopic();

    /// <summary>Handles <c>up/hello</c>: records it, answers with the watermark, sends the changes the school lacks.</summary>
    public async Task OnHelloAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var (school, region) = await CheckAsync(topic, payload, "hello", cancellationToken).ConfigureAwait(false);
        if (school is null) return;
        HelloMessage? message = Parse(payload, SessionJsonContext.Default.HelloMessage);
        if (message is null || message.SchemaVersion != 1 || message.Type != "hello" || message.School != school || message.Region != region
            || !Guid.TryParseExact(message.Epoch ?? "", "D", out var epoch) || message.AppliedVersion is not >= 0)
        {
            await ingestor.DeadLetterAsync(topic, school, payload, DeadLetterReasons.InvalidEnvelope,
                "a hello needs schemaVersion 1, type hello, this school and region, an epoch UUID and appliedVersion ≥ 0", cancellationToken).ConfigureAwait(false);
            return;
        }
        // Shown on the dashboard, never matched: kept in a storable, bounded form (a NUL would lose the hello every time).
        string? agentVersion = message.AgentVersion is null ? null : UplinkLimits.Storable(message.AgentVersion, UplinkLimits.AgentVersion);
        var hello = new SchoolHello(school, region!, epoch, agentVersion, message.OutboxFirstUnacked ?? 0, message.OutboxLast ?? 0,
            message.WatermarkSeen ?? 0, message.AppliedVersion.Value, TemplateKeyOf(school, message.TemplateKey));
        long watermark = await feed.RecordHelloAsync(hello, cancellationToken).ConfigureAwait(false);
        await publish($"kz/v1/{region}/{school}/down/acks", MqttIngestWorker.BuildWatermark(region!, school, epoch, watermark, [], [], _time.GetUtcNow()),
            cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _hellos);
        SessionLog.Hello(logger, school, hello.AppliedVersion, watermark, Math.Max(0, hello.OutboxLast - watermark));

        // Normally the applied version; the version before a snapshot for a new or reset school or one behind the retention floor.
        // An agent that does not list snapshot.begin in supports would refuse the jump (a gap) and ask again forever: it replays.
        // One that lists snapshot.begin but not snapshot.keys (before the key lists were split) would apply the upserts and
        // reject the end, removing nothing: it replays too, which is complete while the feed is not pruned.
        bool snapshots = message.Supports is { ValueKind: JsonValueKind.Object } supports && supports.TryGetProperty(Domain.ChangeKinds.SnapshotBegin, out _)
            && supports.TryGetProperty(Domain.ChangeKinds.SnapshotKeys, out _);
        long start = snapshots ? await feed.BaseVersionAsync(school, hello.AppliedVersion, SnapshotAbove, cancellationToken).ConfigureAwait(false) : hello.AppliedVersion;
        if (start != hello.AppliedVersion) SessionLog.SnapshotStart(logger, school, hello.AppliedVersion, start + 1);

        var state = _schools.GetOrAdd(school, _ => new SchoolState(region!));
        await state.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            state.Region = region!;
            state.Acknowledged = start;
            state.SentUpTo = start; // whatever was in flight before is sent again
            state.LastProgress = _time.GetTimestamp();
        }
        finally
        {
            state.Lock.Release();
        }
        await PumpAsync(school, state, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Handles <c>up/acks</c>: records the applied version, rejections and purge confirmations, then sends more.</summary>
    public async Task OnAppliedAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var (school, region) = await CheckAsync(topic, payload, "acks", cancellationToken).ConfigureAwait(false);
        if (school is null) return;
        AppliedMessage? message = Parse(payload, SessionJsonContext.Default.AppliedMessage);
        if (message is null || message.SchemaVersion != 1 || message.Type != "applied" || message.School != school || message.Region != region
            || message.AppliedVersion is not >= 0)
        {
            await ingestor.DeadLetterAsync(topic, school, payload, DeadLetterReasons.InvalidEnvelope,
                "an applied acknowledgement needs schemaVersion 1, type applied, this school and region, and appliedVersion ≥ 0", cancellationToken).ConfigureAwait(false);
            return;
        }
        // Strings PostgreSQL would refuse must not lose the whole acknowledgement (the school would send it again forever and
        // its downlink stop): reasons are kept storable and bounded; a purge of an id the centre cannot have issued (over
        // 64 characters, other characters) confirms nothing and is left out with a log line.
        var rejected = (message.Rejected ?? []).Where(r => r.Version > 0).Take(1000)
            .Select(r => (r.Version, r.Reason is { Length: > 0 } reason ? UplinkLimits.Storable(reason, UplinkLimits.ChangeRejectionReason) : "(no reason given)")).ToList();
        var named = (message.Purged ?? []).Where(p => !string.IsNullOrEmpty(p.ConsentId)).Take(1000).ToList();
        var purged = named.Where(p => UplinkLimits.IsCentreId(p.ConsentId))
            .Select(p => (p.ConsentId!, Math.Max(0, p.Templates), (p.At ?? _time.GetUtcNow()).ToUniversalTime())).ToList(); // Npgsql writes UTC offsets only
        if (purged.Count < named.Count)
            SessionLog.PurgeIdIgnored(logger, school, named.Count - purged.Count, UplinkLimits.Quote(named.First(p => !UplinkLimits.IsCentreId(p.ConsentId)).ConsentId, 80));
        await feed.RecordAppliedAsync(new SchoolApplied(school, region!, message.AppliedVersion.Value, rejected, purged), cancellationToken).ConfigureAwait(false);
        foreach (var (version, reason) in rejected) SessionLog.ChangeRejected(logger, school, version, reason);

        var state = _schools.GetOrAdd(school, _ => new SchoolState(region!));
        await state.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (message.AppliedVersion.Value > state.Acknowledged)
            {
                state.Acknowledged = message.AppliedVersion.Value;
                state.LastProgress = _time.GetTimestamp();
            }
            if (state.SentUpTo < state.Acknowledged) state.SentUpTo = state.Acknowledged;
        }
        finally
        {
            state.Lock.Release();
        }
        await PumpAsync(school, state, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Pushes new changes to schools heard from, and re-sends where acknowledgements stopped, until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Poll, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                if (_schools.IsEmpty) continue;
                Dictionary<string, long> latest;
                try
                {
                    latest = await feed.LatestVersionsAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Store.CentreStoreException e)
                {
                    SessionLog.FeedUnavailable(logger, e.Message);
                    continue;
                }
                foreach (var (school, state) in _schools)
                {
                    if (!latest.TryGetValue(school, out long newest) || newest <= state.Acknowledged) continue;
                    if (state.SentUpTo > state.Acknowledged && _time.GetElapsedTime(state.LastProgress) > ResendAfter)
                    {
                        state.SentUpTo = state.Acknowledged; // nothing moved: send again from what the school has
                        state.LastProgress = _time.GetTimestamp();
                    }
                    if (newest > state.SentUpTo) await PumpAsync(school, state, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task PumpAsync(string school, SchoolState state, CancellationToken cancellationToken)
    {
        await state.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (int inFlight = 0; inFlight < Window; inFlight++)
            {
                var batch = await feed.ReadAsync(school, state.Region, state.SentUpTo, cancellationToken).ConfigureAwait(false);
                if (batch is null) return;
                if (!await publish($"kz/v1/{state.Region}/{school}/down/changes", batch.Payload, cancellationToken).ConfigureAwait(false))
                {
                    SessionLog.SendRefused(logger, school, batch.FromVersion, batch.ToVersion);
                    return;
                }
                state.SentUpTo = batch.ToVersion;
            }
        }
        catch (Store.CentreStoreException e)
        {
            SessionLog.FeedUnavailable(logger, e.Message);
        }
        finally
        {
            state.Lock.Release();
        }
    }

    /// <summary>Topic, size and registry checks shared by hello and acks; dead-letters what fails and returns (null, null).</summary>
    private async Task<(string? School, string? Region)> CheckAsync(string topic, ReadOnlyMemory<byte> payload, string stream, CancellationToken cancellationToken)
    {
        var match = SessionTopic().Match(topic ?? "");
        if (!match.Success || match.Groups[3].Value != stream)
        {
            await ingestor.DeadLetterAsync(topic ?? "", null, payload, DeadLetterReasons.TopicMismatch, $"not a kz/v1/{{region}}/{{school}}/up/{stream} topic", cancellationToken).ConfigureAwait(false);
            return (null, null);
        }
        string region = match.Groups[1].Value, school = match.Groups[2].Value;
        if (payload.Length > DownlinkFeed.MaxBytes)
        {
            await ingestor.DeadLetterAsync(topic!, school, payload, DeadLetterReasons.Oversized,
                string.Create(CultureInfo.InvariantCulture, $"{payload.Length} bytes, limit {DownlinkFeed.MaxBytes}"), cancellationToken).ConfigureAwait(false);
            return (null, null);
        }
        string? registered = await feed.RegionOfAsync(school, cancellationToken).ConfigureAwait(false);
        if (registered != region)
        {
            await ingestor.DeadLetterAsync(topic!, school, payload, registered is null ? DeadLetterReasons.UnknownSchool : DeadLetterReasons.RegionMismatch,
                registered is null ? $"school {school} is not in the registry: register it before it connects" : $"school {school} is registered in {registered}, the topic says {region}",
                cancellationToken).ConfigureAwait(false);
            return (null, null);
        }
        return (school, region);
    }

    /// <summary>The school's public template key if it is a P-256 key whose id matches; otherwise logged and ignored (the hello still counts).</summary>
    private SchoolTemplateKey? TemplateKeyOf(string school, HelloTemplateKey? key)
    {
        if (key is null) return null;
        string? problem = null;
        byte[] publicKey = [];
        if (key.Alg != "ECDH-P256") problem = $"alg {key.Alg} is not ECDH-P256";
        else
        {
            try
            {
                publicKey = Convert.FromBase64String(key.PublicKey ?? "");
                problem = Domain.TemplateTransfers.ProblemWithPublicKey(publicKey);
                if (problem is null && Domain.TemplateTransfers.KeyIdOf(publicKey) != key.KeyId) problem = $"key id {key.KeyId} does not match the key";
            }
            catch (FormatException)
            {
                problem = "publicKey is not base64";
            }
        }
        if (problem is null) return new SchoolTemplateKey(key.KeyId!, publicKey);
        SessionLog.BadTemplateKey(logger, school, problem);
        return null;
    }

    private static T? Parse<T>(ReadOnlyMemory<byte> payload, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(payload.Span, type);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

internal sealed record HelloMessage(int? SchemaVersion, string? Type, string? School, string? Region, string? Epoch, string? AgentVersion,
    long? OutboxFirstUnacked, long? OutboxLast, long? WatermarkSeen, long? AppliedVersion, HelloTemplateKey? TemplateKey = null,
    JsonElement? Supports = null);

internal sealed record HelloTemplateKey(string? KeyId, string? Alg, string? PublicKey);

internal sealed record AppliedMessage(int? SchemaVersion, string? Type, string? School, string? Region, long? AppliedVersion,
    List<RejectedChange>? Rejected, List<PurgeConfirmation>? Purged);

internal sealed record RejectedChange(long Version, string? Reason);

internal sealed record PurgeConfirmation(string? ConsentId, int Templates, DateTimeOffset? At);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, MaxDepth = 16)]
[JsonSerializable(typeof(HelloMessage))]
[JsonSerializable(typeof(AppliedMessage))]
internal sealed partial class SessionJsonContext : JsonSerializerContext;

internal static partial class SessionLog
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "School {School} said hello: it has applied version {Applied}, the centre holds its events up to {Watermark}, {Lag} events still to come.")]
    public static partial void Hello(ILogger logger, string school, long applied, long watermark, long lag);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "School {School} rejected downlink change {Version}: {Reason}. Fix the change at the centre and send a corrected one; the school's stream went on.")]
    public static partial void ChangeRejected(ILogger logger, string school, long version, string reason);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "The broker refused downlink changes {From}–{To} for {School}; they are sent again on the school's next hello. Check this worker's certificate and the ACL.")]
    public static partial void SendRefused(ILogger logger, string school, long from, long to);

    [LoggerMessage(EventId = 4127, Level = LogLevel.Warning, Message = "School {School} confirmed {Count} purge(s) of ids the centre never issues (first: '{Id}'); they are left out, the rest of its acknowledgement is recorded. Check the school's agent version.")]
    public static partial void PurgeIdIgnored(ILogger logger, string school, int count, string id);

    [LoggerMessage(EventId = 4125, Level = LogLevel.Warning, Message = "School {School} sent a template key the centre cannot use ({Problem}); templates cannot be transferred to it until its agent sends a valid one. Check the agent version and its biometrics.key.transfer file.")]
    public static partial void BadTemplateKey(ILogger logger, string school, string problem);

    [LoggerMessage(EventId = 4126, Level = LogLevel.Information, Message = "School {School} has applied version {Applied}; it gets the snapshot starting at version {Begin} instead of the history before it (new or reset gate PC, or behind the feed's retention floor).")]
    public static partial void SnapshotStart(ILogger logger, string school, long applied, long begin);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "The downlink feed could not be read: {Problem}. Changes wait in PostgreSQL and are sent when it answers.")]
    public static partial void FeedUnavailable(ILogger logger, string problem);
}
