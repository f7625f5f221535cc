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

    private const string Regular = """{"schemaVersion":1,"uid":"u1","gate":"gate1","direction":"entry","holderKind":"pupil","holderId":480001,"decision":"granted","reason":"granted","outcome":"passed","decidedAt":"2026-11-21T07:30:58.9020000+05:00","credential":"card"}""";

    [TestCase("uid", 64)]
    [TestCase("gate", 64)]
    [TestCase("reason", 64)]
    [TestCase("outcome", 64)]
    [TestCase("holderKind", 32)]
    [TestCase("credential", 32)]
    public void Both_readers_hold_a_field_to_the_same_limit_and_the_problem_names_field_length_and_limit(string field, int limit)
    {
        foreach (int length in new[] { limit, limit + 1, 3000 })
        {
            // Escaped letters too: the limit counts characters of the value, not bytes of the JSON text.
            string value = new string('a', length - 1) + "\u0062";
            byte[] utf8 = Encoding.UTF8.GetBytes(Regular.Replace($"\"{field}\":\"", $"\"{field}\":\"{value}", StringComparison.Ordinal)
                .Replace($"\"{field}\":\"{value}", $"\"{field}\":\"{value}\",\"x{field}\":\"", StringComparison.Ordinal));

            Assert.That(UplinkReader.TryReadPassage(utf8, out var fast), Is.True);
            var slow = JsonSerializer.Deserialize(utf8, SyncJsonContext.Default.PassagePayload);
            string? fastProblem = UplinkLimits.CheckPassage(fast!), slowProblem = UplinkLimits.CheckPassage(slow!);

            Assert.That(fastProblem, Is.EqualTo(slowProblem), $"{field} of {length}");
            if (length <= limit) Assert.That(fastProblem, Is.Null, $"{field} of {length} fits");
            else Assert.That(fastProblem, Is.EqualTo($"{field} is {length} characters long, limit {limit}"));
        }
    }

    [TestCase("uid")]
    [TestCase("gate")]
    [TestCase("reason")]
    [TestCase("outcome")]
    public void Both_readers_report_a_missing_required_field_alike(string field)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(Regular.Replace($"\"{field}\":", $"\"x{field}\":", StringComparison.Ordinal));

        Assert.That(UplinkReader.TryReadPassage(utf8, out var fast), Is.True);
        var slow = JsonSerializer.Deserialize(utf8, SyncJsonContext.Default.PassagePayload);

        Assert.That(UplinkLimits.CheckPassage(fast!), Is.EqualTo($"{field} is missing"));
        Assert.That(UplinkLimits.CheckPassage(slow!), Is.EqualTo($"{field} is missing"));
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
