using System.Security.Cryptography;
using System.Text;
using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Tests.Support;

namespace Kezekshi.Server.Sync.Tests.Ingest;

/// <summary>
/// Events that are valid JSON with valid types but carry a string or number PostgreSQL refuses when it writes the row
/// (an index entry over its B-tree limit, a NUL, a number jsonb cannot hold): each is dead-lettered alone with a detail
/// that says what is wrong, the rest of its batch is stored, the watermark moves past it and the stream goes on
/// (issue 4 §7; docs/sync-protocol.md §4.1 "Field limits", §4.4).
/// </summary>
public sealed class PoisonStringTests : CentreFixture
{
    private static readonly Guid s_epoch = Guid.Parse("3c1d9e2f-8a7b-4c6d-9e0f-1a2b3c4d5e6f");

    /// <summary>
    /// Hex text that does not compress: PostgreSQL compresses an index entry before it checks the B-tree limit (2,704
    /// bytes on 8 KiB pages), so a repeated letter would pass and hide the fault.
    /// </summary>
    private static string Incompressible(int length)
    {
        var text = new StringBuilder(length + 64);
        for (int i = 0; text.Length < length; i++) text.Append(Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i))));
        return text.ToString(0, length);
    }

    private static string Charge(long seq, string pupilIdJson) =>
        $$"""{ "schemaVersion": 1, "uid": "c-{{seq}}", "pupilId": {{pupilIdJson}}, "till": "till-1", "shiftId": 3, "staffId": 17, "total": 45000, "at": "2026-11-21T07:31:00.010+05:00" }""";

    private static string Refund(long seq, string pupilIdJson) =>
        $$"""{ "schemaVersion": 1, "uid": "r-{{seq}}", "originalUid": "c-2", "pupilId": {{pupilIdJson}}, "toAccount": 45000, "reason": "wrong item", "staffId": 17, "at": "2026-11-21T07:32:00+05:00" }""";

    private static string Passage(long seq) => Batches.PassageJson(Batches.PassageUid(s_epoch, seq), seq);

    private Task<IReadOnlyList<IngestResult?>> IngestManyAsync(params (string Topic, byte[] Payload)[] messages) =>
        Ingestor.IngestManyAsync([.. messages.Select(m => (m.Topic, (ReadOnlyMemory<byte>)m.Payload))], CancellationToken.None);

    /// <summary>The stream goes on: the next batch of the same stream is stored and the watermark moves over it.</summary>
    private async Task AssertTheStreamGoesOnAsync(long first, long last)
    {
        var next = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, first, last));
        Assert.That((next.Outcome, next.Inserted, next.Watermark), Is.EqualTo((IngestOutcome.Applied, (int)(last - first + 1), (long?)last)));
    }

    [TestCase("canteen.charge")]
    [TestCase("canteen.refund")]
    public async Task An_over_long_pupil_id_in_the_middle_of_a_batch_is_dead_lettered_alone_and_the_stream_goes_on(string type)
    {
        AllowErrors = true;
        string pupilId = '"' + Incompressible(3200) + '"';
        var batch = Batches.Build(SchoolA, s_epoch, 1, 5,
        [
            (1, "passage", 1, Passage(1)),
            (2, "canteen.charge", 1, Charge(2, "480001")),
            (3, type, 1, type == "canteen.charge" ? Charge(3, pupilId) : Refund(3, pupilId)),
            (4, "canteen.refund", 1, Refund(4, "480001")),
            (5, "passage", 1, Passage(5)),
        ]);

        var result = await IngestAsync(Batches.Topic(SchoolA), batch);

        Assert.That((result.Outcome, result.Watermark), Is.EqualTo((IngestOutcome.Applied, (long?)5)), result.Detail);
        Assert.That(result.DeadLetteredSeqs, Is.EqualTo(new long[] { 3 }));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(5));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(2));
        Assert.That(await CountAsync("SELECT count(*) FROM events WHERE type IN ('canteen.charge', 'canteen.refund') AND payload->>'pupilId' = '480001'"), Is.EqualTo(2));
        Assert.That(await CountAsync($"""
            SELECT count(*) FROM dead_letters WHERE seq = 3 AND reason = 'invalid-event'
              AND detail LIKE '%pupilId%' AND detail LIKE '%3200 characters%' AND detail LIKE '%limit 64%'
              AND position('{pupilId[1..40]}' IN convert_from(payload, 'UTF8')) > 0
            """), Is.EqualTo(1), "the dead letter names the field, its length and the limit, and keeps the payload as it arrived");
        await AssertTheStreamGoesOnAsync(6, 8);
    }

    [Test]
    public async Task An_over_long_pupil_id_sent_as_a_number_or_an_object_is_dead_lettered_too()
    {
        AllowErrors = true;
        // payload->>'pupilId' indexes the text of whatever value it is: a long number or an object is as big a key.
        string digits = string.Concat(Enumerable.Repeat("1234567890", 30));
        string obj = "{ \"id\": \"" + Incompressible(3200) + "\" }";
        var batch = Batches.Build(SchoolA, s_epoch, 1, 3,
        [
            (1, "canteen.charge", 1, Charge(1, digits)),
            (2, "canteen.charge", 1, Charge(2, obj)),
            (3, "canteen.charge", 1, Charge(3, "null")),
        ]);

        var result = await IngestAsync(Batches.Topic(SchoolA), batch);

        Assert.That((result.Outcome, result.Watermark), Is.EqualTo((IngestOutcome.Applied, (long?)3)), result.Detail);
        Assert.That(result.DeadLetteredSeqs, Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE seq = 1 AND detail LIKE '%pupilId%300 bytes%limit 64%'"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE seq = 2 AND detail LIKE '%pupilId%bytes%limit 64%'"), Is.EqualTo(1));
    }

    [TestCase("uid", 64)]
    [TestCase("gate", 64)]
    [TestCase("holderKind", 32)]
    [TestCase("reason", 64)]
    [TestCase("outcome", 64)]
    public async Task An_over_long_passage_field_in_the_middle_of_a_batch_is_dead_lettered_alone_and_the_stream_goes_on(string field, int limit)
    {
        AllowErrors = true;
        string poison = Incompressible(3200);
        var bad = System.Text.Json.Nodes.JsonNode.Parse(Passage(3))!.AsObject();
        bad[field] = poison;
        var batch = Batches.Build(SchoolA, s_epoch, 1, 5,
        [
            (1, "passage", 1, Passage(1)),
            (2, "passage", 1, Passage(2)),
            (3, "passage", 1, bad.ToJsonString()),
            (4, "canteen.charge", 1, Charge(4, "480001")),
            (5, "passage", 1, Passage(5)),
        ]);

        var result = await IngestAsync(Batches.Topic(SchoolA), batch);

        Assert.That((result.Outcome, result.Watermark), Is.EqualTo((IngestOutcome.Applied, (long?)5)), result.Detail);
        Assert.That(result.DeadLetteredSeqs, Is.EqualTo(new long[] { 3 }));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(5));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(3));
        Assert.That(await CountAsync($"""
            SELECT count(*) FROM dead_letters WHERE seq = 3 AND reason = 'invalid-event'
              AND detail LIKE '%{field} is 3200 characters long, limit {limit}%'
            """), Is.EqualTo(1), "the dead letter names the field, its length and the limit");
        await AssertTheStreamGoesOnAsync(6, 7);
    }

    [Test]
    public async Task Over_long_fields_in_messages_of_several_schools_are_dead_lettered_alone_and_every_school_goes_on()
    {
        AllowErrors = true;
        var epochB = Guid.Parse("5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a");
        var bad = System.Text.Json.Nodes.JsonNode.Parse(Passage(2))!.AsObject();
        bad["uid"] = Incompressible(3000);

        var results = await IngestManyAsync(
            (Batches.Topic(SchoolA), Batches.Build(SchoolA, s_epoch, 1, 3,
                [(1, "passage", 1, Passage(1)), (2, "passage", 1, bad.ToJsonString()), (3, "passage", 1, Passage(3))])),
            (Batches.Topic(SchoolB), Batches.Build(SchoolB, epochB, 1, 2,
                [(1, "canteen.charge", 1, Charge(1, "480001")), (2, "canteen.charge", 1, Charge(2, '"' + Incompressible(3000) + '"'))])));

        Assert.That((results[0]!.Watermark, results[0]!.DeadLetteredSeqs), Is.EqualTo(((long?)3, new long[] { 2 })));
        Assert.That((results[1]!.Watermark, results[1]!.DeadLetteredSeqs), Is.EqualTo(((long?)2, new long[] { 2 })));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(5));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters"), Is.EqualTo(2));
        await AssertTheStreamGoesOnAsync(4, 5);
    }

    [Test]
    public async Task An_event_type_holding_a_NUL_is_dead_lettered_alone_with_a_readable_type()
    {
        AllowErrors = true;
        // An unknown type is stored with its event (for a replay after an upgrade) and named in the dead letter; a NUL in
        // it would fail the COPY of the whole batch and the dead letter's own insert.
        var batch = Batches.Build(SchoolA, s_epoch, 1, 3,
        [
            (1, "passage", 1, Passage(1)),
            (2, "canteen.charge\u0000x", 1, Charge(2, "480001")),
            (3, "passage", 1, Passage(3)),
        ]);

        var result = await IngestAsync(Batches.Topic(SchoolA), batch);

        Assert.That((result.Outcome, result.Watermark), Is.EqualTo((IngestOutcome.Applied, (long?)3)), result.Detail);
        Assert.That(result.DeadLetteredSeqs, Is.EqualTo(new long[] { 2 }));
        Assert.That(await CountAsync("SELECT count(*) FROM events WHERE seq = 2 AND type = 'canteen.charge�x'"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE seq = 2 AND reason = 'unsupported-event-schema' AND detail LIKE '%canteen.charge�x%'"), Is.EqualTo(1));
        await AssertTheStreamGoesOnAsync(4, 5);
    }

    [TestCase("\"type\": \"events\"", "\"type\": \"events\\u0000\"", "unsupported-envelope")]
    [TestCase("\"region\": \"almaty\"", "\"region\": \"alm\\u0000aty\"", "topic-mismatch")]
    [TestCase("\"epoch\": \"3c1d9e2f", "\"epoch\": \"\\u0000 3c1d9e2f", "invalid-envelope")]
    public async Task A_message_whose_bad_envelope_field_holds_a_NUL_is_dead_lettered_with_a_readable_detail(string good, string bad, string reason)
    {
        AllowErrors = true;
        string json = Encoding.UTF8.GetString(Batches.Passages(SchoolA, s_epoch, 1, 2)).Replace(good.Replace(" ", "", StringComparison.Ordinal), bad, StringComparison.Ordinal);
        Assert.That(json, Does.Contain(bad), "the test's replacement took");

        var result = await IngestAsync(Batches.Topic(SchoolA), Encoding.UTF8.GetBytes(json));

        Assert.That((result.Outcome, result.Reason), Is.EqualTo((IngestOutcome.DeadLettered, reason)), result.Detail);
        Assert.That(await CountAsync($"SELECT count(*) FROM dead_letters WHERE reason = '{reason}' AND detail LIKE '%�%'"), Is.EqualTo(1));
        await AssertTheStreamGoesOnAsync(1, 2);
    }

    [Test]
    public async Task A_lone_surrogate_in_an_envelope_string_makes_the_message_malformed()
    {
        AllowErrors = true;
        // System.Text.Json will not turn a lone surrogate escape into a .NET string, so neither reader takes the message.
        string json = Encoding.UTF8.GetString(Batches.Passages(SchoolA, s_epoch, 1, 2)).Replace("\"type\":\"events\"", "\"type\":\"events\\ud800\"", StringComparison.Ordinal);

        var result = await IngestAsync(Batches.Topic(SchoolA), Encoding.UTF8.GetBytes(json));

        Assert.That((result.Outcome, result.Reason), Is.EqualTo((IngestOutcome.DeadLettered, DeadLetterReasons.MalformedJson)), result.Detail);
        await AssertTheStreamGoesOnAsync(1, 2);
    }

    [TestCase(1, 3)]
    [TestCase(4, 6)]
    [TestCase(1, 1)]
    public async Task A_value_only_the_database_refuses_is_dead_lettered_alone_with_its_message_and_the_stream_goes_on(int poisonSeq, int last)
    {
        AllowErrors = true;
        // jsonb keeps numbers as numeric, which holds at most 131,072 digits before the point: 1e200000 is valid JSON that
        // no field limit looks at, and PostgreSQL refuses it inside the COPY (22003). The ingest finds the one event.
        var events = Enumerable.Range(1, last).Select(seq => ((long)seq, seq == poisonSeq ? "device.health" : "passage", 1,
            seq == poisonSeq ? """{ "schemaVersion": 1, "device": "main-1/reader", "uptimeSeconds": 1e200000 }""" : Passage(seq))).ToList();

        var result = await IngestAsync(Batches.Topic(SchoolA), Batches.Build(SchoolA, s_epoch, 1, last, events));

        Assert.That((result.Outcome, result.Watermark, result.Inserted), Is.EqualTo((IngestOutcome.Applied, (long?)last, last)), result.Detail);
        Assert.That(result.DeadLetteredSeqs, Is.EqualTo(new long[] { poisonSeq }));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(last));
        Assert.That(await CountAsync($"SELECT count(*) FROM events WHERE seq = {poisonSeq} AND payload = 'null'::jsonb"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(last - 1));
        Assert.That(await CountAsync($"""
            SELECT count(*) FROM dead_letters WHERE seq = {poisonSeq} AND reason = 'invalid-event' AND detail LIKE '%22003%'
              AND position('1e200000' IN convert_from(payload, 'UTF8')) > 0
            """), Is.EqualTo(1), "the dead letter carries PostgreSQL's code and the payload as it arrived");
        Assert.That(Logged.Any(l => l.Contains("22003", StringComparison.Ordinal) && l.Contains(SchoolA, StringComparison.Ordinal)), Is.True, "one log line names the school and the refusal");

        var again = await IngestAsync(Batches.Topic(SchoolA), Batches.Build(SchoolA, s_epoch, 1, last, events));
        Assert.That((again.Inserted, again.Duplicates, again.Watermark), Is.EqualTo((0, last, (long?)last)), "a redelivery doubles nothing");
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters"), Is.EqualTo(1));
        await AssertTheStreamGoesOnAsync(last + 1, last + 2);
    }

    [Test]
    public async Task A_value_only_the_database_refuses_in_one_school_of_a_group_holds_back_neither_that_school_nor_the_others()
    {
        AllowErrors = true;
        var epochB = Guid.Parse("5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a");

        var results = await IngestManyAsync(
            (Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 1, 4)),
            (Batches.Topic(SchoolB), Batches.Build(SchoolB, epochB, 1, 3,
                [(1, "passage", 1, Batches.PassageJson("b-1", 1)), (2, "device.health", 1, """{ "schemaVersion": 1, "n": -1e-200000 }"""), (3, "passage", 1, Batches.PassageJson("b-3", 3))])));

        Assert.That((results[0]!.Watermark, results[0]!.Inserted), Is.EqualTo(((long?)4, 4)));
        Assert.That((results[1]!.Watermark, results[1]!.Inserted, results[1]!.DeadLetteredSeqs), Is.EqualTo(((long?)3, 3, new long[] { 2 })));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(7));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(6));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE school = 'sch-0002' AND seq = 2 AND detail LIKE '%22003%'"), Is.EqualTo(1));
    }

    [Test]
    public async Task A_catch_up_batch_with_several_values_the_database_refuses_stores_everything_else()
    {
        AllowErrors = true;
        var poison = new HashSet<long> { 7, 8, 250, 500 };
        var events = Batches.Range(1, 500).Select(seq => (seq, poison.Contains(seq) ? "device.health" : "passage", 1,
            poison.Contains(seq) ? """{ "schemaVersion": 1, "n": 9e999999 }""" : Passage(seq))).ToList();

        var result = await IngestAsync(Batches.Topic(SchoolA), Batches.Build(SchoolA, s_epoch, 1, 500, events));

        Assert.That((result.Watermark, result.Inserted), Is.EqualTo(((long?)500, 500)));
        Assert.That(result.DeadLetteredSeqs, Is.EqualTo(poison.Order().ToArray()));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(496));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE detail LIKE '%22003%'"), Is.EqualTo(4));
    }
}
