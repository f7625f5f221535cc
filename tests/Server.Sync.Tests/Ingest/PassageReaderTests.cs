using System.Text;
using System.Text.Json;
using Kezekshi.Server.Sync.Ingest;

namespace Kezekshi.Server.Sync.Tests.Ingest;

/// <summary>The one-pass passage reader reads what the source-generated deserializer reads, and declines the rest.</summary>
[Category("Unit")]
public sealed class PassageReaderTests
{
    [TestCase("""{"schemaVersion":1,"uid":"u1","gate":"gate1","direction":"entry","holderKind":"pupil","holderId":480001,"decision":"granted","reason":"granted","outcome":"passed","decidedAt":"2026-11-21T07:30:58.9020000+05:00","completedAt":null,"manualBy":null}""")]
    [TestCase("""{ "uid": "u\u0032", "\u0067ate": "g", "extra": { "nested": [1, 2, {"x": null}] }, "holderId": 7, "holderId": 8, "manualBy": 12 }""")]
    [TestCase("""{"schemaVersion":1,"uid":"u2","gate":"gate1","direction":"entry","holderKind":"pupil","holderId":480001,"decision":"granted","reason":"granted","outcome":"passed","decidedAt":"2026-11-21T07:30:58.9020000+05:00","completedAt":null,"manualBy":null,"credential":"face"}""")]
    [TestCase("""{}""")]
    public void A_regular_payload_reads_as_the_deserializer_reads_it(string json)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(json);

        bool read = UplinkReader.TryReadPassage(utf8, out var passage);

        Assert.That(read, Is.True);
        Assert.That(passage, Is.EqualTo(JsonSerializer.Deserialize(utf8, SyncJsonContext.Default.PassagePayload)));
    }

    [TestCase("""{"uid": 5}""")]
    [TestCase("""{"holderId": "480001"}""")]
    [TestCase("""{"schemaVersion": 1.5}""")]
    [TestCase("""{"holderId": 99999999999999999999}""")]
    [TestCase("""{"uid": "u1"} trailing""")]
    [TestCase("""[1, 2]""")]
    [TestCase("""{"credential": 1}""")]
    public void An_irregular_payload_is_left_to_the_deserializer(string json)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(json);

        Assert.That(UplinkReader.TryReadPassage(utf8, out _), Is.False);
        Assert.That(() => JsonSerializer.Deserialize(utf8, SyncJsonContext.Default.PassagePayload), Throws.InstanceOf<JsonException>());
    }
}
