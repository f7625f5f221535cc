using System.Text;
using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Tests.Support;

namespace Kezekshi.Server.Sync.Tests.Ingest;

public sealed class DeadLetterTests : CentreFixture
{
    private static readonly Guid s_epoch = Guid.Parse("7f3c2a9e-5d41-4b7a-9f0e-2c6d8b1a4e55");

    private static IEnumerable<TestCaseData> BadMessages()
    {
        var valid = Batches.Passages(SchoolA, s_epoch, 1, 10);
        yield return new TestCaseData(Batches.Topic(SchoolA), Batches.Utf8("{ \"schemaVersion\": 1, \"type\": events }"), "malformed-json").SetName("Malformed_JSON_is_dead_lettered_and_the_next_batch_is_ingested");
        yield return new TestCaseData(Batches.Topic(SchoolA), Batches.Utf8("not json at all"), "malformed-json").SetName("Text_that_is_not_JSON_is_dead_lettered_as_malformed");
        yield return new TestCaseData(Batches.Topic(SchoolA), valid[..(valid.Length / 2)], "truncated").SetName("A_truncated_payload_is_dead_lettered_and_the_next_batch_is_ingested");
        yield return new TestCaseData(Batches.Topic(SchoolA), Array.Empty<byte>(), "truncated").SetName("An_empty_payload_is_dead_lettered_as_truncated");
        yield return new TestCaseData(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 1, 10, schemaVersion: 2), "unsupported-envelope").SetName("An_unknown_envelope_schemaVersion_is_dead_lettered");
        yield return new TestCaseData(Batches.Topic(SchoolA), Oversized(), "oversized").SetName("An_oversized_payload_is_dead_lettered_and_the_next_batch_is_ingested");
        yield return new TestCaseData(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 1, 10, payloadSchool: SchoolB), "topic-mismatch").SetName("A_school_in_the_payload_other_than_the_topic_is_dead_lettered");
        yield return new TestCaseData(Batches.Topic(SchoolA, "astana"), Batches.Passages(SchoolA, s_epoch, 1, 10, region: "astana"), "region-mismatch").SetName("A_region_other_than_the_registry_is_dead_lettered");
        yield return new TestCaseData(Batches.Topic("sch-9999"), Batches.Passages("sch-9999", s_epoch, 1, 10), "unknown-school").SetName("An_unregistered_school_is_dead_lettered");
        yield return new TestCaseData(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 1, 12, seqs: Batches.Range(1, 10)), "bad-range").SetName("A_batch_whose_range_has_holes_is_dead_lettered");
        yield return new TestCaseData(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 0, 9), "bad-range").SetName("A_seq_of_zero_is_dead_lettered");
        yield return new TestCaseData("kz/v1/almaty/sch-0001/up/hello", valid, "topic-mismatch").SetName("A_message_on_a_topic_that_is_not_up_events_is_dead_lettered");
        yield return new TestCaseData(Batches.Topic(SchoolA), Batches.Utf8(Encoding.UTF8.GetString(valid).Replace(s_epoch.ToString(), "not-a-uuid", StringComparison.Ordinal)), "invalid-envelope").SetName("An_epoch_that_is_not_a_UUID_is_dead_lettered");
    }

    private static byte[] Oversized()
    {
        // 1,000 passages with padded uids: valid JSON, well over 256 KiB.
        return Batches.Passages(SchoolA, s_epoch, 1, 1000, uid: seq => new string('x', 40) + seq);
    }

    [TestCaseSource(nameof(BadMessages))]
    public async Task Bad_message_is_dead_lettered_and_the_stream_goes_on(string topic, byte[] payload, string reason)
    {
        var result = await IngestAsync(topic, payload);

        Assert.That(result.Outcome, Is.EqualTo(IngestOutcome.DeadLettered));
        Assert.That(result.Reason, Is.EqualTo(reason), result.Detail);
        Assert.That(result.Watermark, Is.Null);
        Assert.That(await CountAsync($"SELECT count(*) FROM dead_letters WHERE reason = '{reason}' AND detail <> '' AND payload_size = {payload.Length} AND octet_length(payload) = {Math.Min(payload.Length, 64 * 1024)}"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(0));
        Assert.That(Logged.Count(l => l.Contains(reason, StringComparison.Ordinal)), Is.EqualTo(1), "one log line per dead letter");

        var next = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 1, 10));
        Assert.That((next.Outcome, next.Watermark), Is.EqualTo((IngestOutcome.Applied, (long?)10)));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(10));
    }

    [Test]
    public async Task A_dead_lettered_message_keeps_at_most_64_KiB_of_the_payload()
    {
        var payload = Oversized();
        Assert.That(payload.Length, Is.GreaterThan(256 * 1024));

        await IngestAsync(Batches.Topic(SchoolA), payload);

        Assert.That(await CountAsync("SELECT octet_length(payload) FROM dead_letters"), Is.EqualTo(64 * 1024));
        Assert.That(await CountAsync("SELECT payload_size FROM dead_letters"), Is.EqualTo(payload.Length));
    }
}
