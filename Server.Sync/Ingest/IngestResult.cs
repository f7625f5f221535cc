namespace Kezekshi.Server.Sync.Ingest;

/// <summary>What became of one received message.</summary>
public enum IngestOutcome
{
    /// <summary>The batch was valid and is durably applied (events already stored count as applied).</summary>
    Applied,

    /// <summary>The whole message was rejected and stored in <c>dead_letters</c>; it advanced nothing.</summary>
    DeadLettered,
}

/// <summary>An inclusive range of seqs.</summary>
public readonly record struct SeqRange(long From, long To);

/// <summary>
/// The result of <see cref="EventIngestor.IngestAsync"/>. For <see cref="IngestOutcome.Applied"/> the caller publishes
/// <see cref="Watermark"/>, <see cref="Missing"/> and <see cref="DeadLetteredSeqs"/> as the <c>down/acks</c> message
/// (docs/sync-protocol.md §4.2) after this method returned, i.e. after the commit.
/// </summary>
/// <param name="Watermark">Every seq ≤ this of (<see cref="School"/>, <see cref="Epoch"/>) is stored; null for a dead-lettered message.</param>
/// <param name="Inserted">Events of this batch stored now (the others were already stored: redelivery).</param>
/// <param name="Duplicates">Events of this batch that were already stored or appeared twice in it.</param>
/// <param name="DeadLetteredSeqs">Seqs of this batch rejected one by one (unknown type, invalid payload); they count as applied.</param>
/// <param name="Missing">Up to 16 ranges above the watermark not received yet (a hint for the edge).</param>
/// <param name="Reason">The dead-letter reason code (§7) when <see cref="Outcome"/> is <see cref="IngestOutcome.DeadLettered"/>.</param>
public sealed record IngestResult(
    IngestOutcome Outcome,
    string? School,
    Guid? Epoch,
    long? Watermark,
    int Inserted,
    int Duplicates,
    IReadOnlyList<long> DeadLetteredSeqs,
    IReadOnlyList<SeqRange> Missing,
    string? Reason = null,
    string? Detail = null)
{
    internal static IngestResult Rejected(string? school, Guid? epoch, string reason, string detail) =>
        new(IngestOutcome.DeadLettered, school, epoch, null, 0, 0, [], [], reason, detail);
}

/// <summary>Dead-letter reason codes (docs/sync-protocol.md §7), plus <c>invalid-envelope</c> for a missing or unparsable envelope field.</summary>
public static class DeadLetterReasons
{
    public const string MalformedJson = "malformed-json";
    public const string Truncated = "truncated";
    public const string Oversized = "oversized";
    public const string TopicMismatch = "topic-mismatch";
    public const string RegionMismatch = "region-mismatch";
    public const string UnknownSchool = "unknown-school";
    public const string UnsupportedEnvelope = "unsupported-envelope";
    public const string InvalidEnvelope = "invalid-envelope";
    public const string BadRange = "bad-range";
    public const string UnsupportedEventSchema = "unsupported-event-schema";
    public const string InvalidEvent = "invalid-event";
}
