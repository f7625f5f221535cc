using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Kezekshi.Server.Sync.Tests.Support;

/// <summary>Builds <c>up/events</c> messages as an edge sends them (docs/sync-protocol.md §4.1).</summary>
public static class Batches
{
    public static string Topic(string school, string region = "almaty") => $"kz/v1/{region}/{school}/up/events";

    /// <summary>The passage uid an edge would give seq <paramref name="seq"/> of <paramref name="epoch"/> (unique per event).</summary>
    public static string PassageUid(Guid epoch, long seq) => $"{epoch:N}".Substring(0, 16) + seq.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>A batch of passage events with seqs <paramref name="first"/>..<paramref name="last"/>.</summary>
    public static byte[] Passages(string school, Guid epoch, long first, long last, string region = "almaty", int schemaVersion = 1,
        Func<long, string>? uid = null, IEnumerable<long>? seqs = null, string? payloadSchool = null)
    {
        uid ??= seq => PassageUid(epoch, seq);
        return Build(school, epoch, first, last, (seqs ?? Range(first, last)).Select(seq => (seq, "passage", 1, PassageJson(uid(seq), seq))),
            region, schemaVersion, payloadSchool);
    }

    public static string PassageJson(string uid, long seq) =>
        $$"""
        { "schemaVersion": 1, "uid": "{{uid}}", "gate": "main-{{seq % 4 + 1}}", "direction": "{{(seq % 2 == 0 ? "exit" : "entry")}}",
          "holderKind": "pupil", "holderId": {{480000 + seq % 1200}}, "decision": "granted", "reason": "granted", "outcome": "passed",
          "decidedAt": "2026-11-21T07:30:58.9020000+05:00", "completedAt": "2026-11-21T07:30:59.6400000+05:00", "manualBy": null }
        """;

    /// <summary>An envelope with arbitrary events (seq, type, schemaVersion, raw payload JSON).</summary>
    public static byte[] Build(string school, Guid epoch, long first, long last, IEnumerable<(long Seq, string Type, int SchemaVersion, string Payload)> events,
        string region = "almaty", int schemaVersion = 1, string? payloadSchool = null)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("schemaVersion", schemaVersion);
            writer.WriteString("type", "events");
            writer.WriteString("school", payloadSchool ?? school);
            writer.WriteString("region", region);
            writer.WriteString("msgId", "01JD7Z6S9W3Q4T8K2N5B0C1D2E");
            writer.WriteString("sentAt", "2026-11-21T07:31:02.114+05:00");
            writer.WriteString("epoch", epoch.ToString("D"));
            writer.WriteNumber("firstSeq", first);
            writer.WriteNumber("lastSeq", last);
            writer.WriteStartArray("events");
            foreach (var (seq, type, version, payload) in events)
            {
                writer.WriteStartObject();
                writer.WriteNumber("seq", seq);
                writer.WriteString("type", type);
                writer.WriteNumber("schemaVersion", version);
                writer.WriteString("createdAt", "2026-11-21T07:30:58.902+05:00");
                writer.WritePropertyName("payload");
                writer.WriteRawValue(payload);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static IEnumerable<long> Range(long first, long last)
    {
        for (long s = first; s <= last; s++) yield return s;
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
