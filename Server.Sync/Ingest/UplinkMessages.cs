using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kezekshi.Server.Sync.Ingest;

/// <summary>The <c>up/events</c> envelope, schema version 1 (docs/sync-protocol.md §3, §4.1). Every field is nullable so that
/// a missing field is reported as a dead letter with its name instead of an exception.</summary>
internal sealed record EventsEnvelope(int? SchemaVersion, string? Type, string? School, string? Region, string? MsgId, string? SentAt,
    string? Epoch, long? FirstSeq, long? LastSeq, List<UplinkEvent>? Events);

/// <summary>One outbox row inside a batch; <see cref="Payload"/> is the outbox payload embedded as raw JSON.</summary>
internal sealed record UplinkEvent(long? Seq, string? Type, int? SchemaVersion, string? CreatedAt, JsonElement? Payload);

/// <summary>The <c>passage</c> event payload, schema version 1: exactly what Edge.Agent's <c>PassageRecorder</c> writes
/// (<c>PassageEvent</c>). No card number, no name: <see cref="HolderId"/> is the centre-issued pseudonymous ID.</summary>
internal sealed record PassagePayload(int? SchemaVersion, string? Uid, string? Gate, string? Direction, string? HolderKind, long? HolderId,
    string? Decision, string? Reason, string? Outcome, string? DecidedAt, string? CompletedAt, long? ManualBy, string? Credential = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, MaxDepth = 32)]
[JsonSerializable(typeof(EventsEnvelope))]
[JsonSerializable(typeof(PassagePayload))]
internal sealed partial class SyncJsonContext : JsonSerializerContext;
