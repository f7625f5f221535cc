using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Tests.Support;

namespace Kezekshi.Server.Sync.Tests.Ingest;

public sealed class EventIngestorTests : CentreFixture
{
    private static readonly Guid s_epoch = Guid.Parse("7f3c2a9e-5d41-4b7a-9f0e-2c6d8b1a4e55");

    [Test]
    public async Task A_batch_delivered_three_times_is_stored_once()
    {
        var batch = Batches.Passages(SchoolA, s_epoch, 1, 10);

        var first = await IngestAsync(Batches.Topic(SchoolA), batch);
        var second = await IngestAsync(Batches.Topic(SchoolA), batch);
        var third = await IngestAsync(Batches.Topic(SchoolA), batch);

        Assert.That(first.Outcome, Is.EqualTo(IngestOutcome.Applied));
        Assert.That((first.Inserted, first.Duplicates, first.Watermark), Is.EqualTo((10, 0, (long?)10)));
        Assert.That((second.Inserted, second.Duplicates, second.Watermark), Is.EqualTo((0, 10, (long?)10)));
        Assert.That((third.Inserted, third.Duplicates, third.Watermark), Is.EqualTo((0, 10, (long?)10)));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(10));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(10));
    }

    [Test]
    public async Task A_batch_redelivered_after_later_batches_changes_nothing()
    {
        await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 1, 10));
        await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 11, 20));
        long before = await CountAsync("SELECT count(*) FROM events") * 1000 + await CountAsync("SELECT count(*) FROM passages");

        // The edge re-sends from its watermark after a reconnect: the first batch again, same seqs, same payloads.
        var again = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 1, 10));

        Assert.That((again.Outcome, again.Inserted, again.Duplicates, again.Watermark), Is.EqualTo((IngestOutcome.Applied, 0, 10, (long?)20)));
        Assert.That(await CountAsync("SELECT count(*) FROM events") * 1000 + await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(before));
        Assert.That(before, Is.EqualTo(20_020));
    }

    [Test]
    public async Task A_batch_half_already_stored_stores_only_its_new_seqs()
    {
        await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 1, 10));

        // Seqs 6..10 are stored, 11..15 are new: a re-send that overlaps what the centre already has.
        var overlap = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 6, 15));

        Assert.That((overlap.Inserted, overlap.Duplicates, overlap.Watermark), Is.EqualTo((5, 5, (long?)15)));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(15));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(15));
        Assert.That(await CountAsync("SELECT count(DISTINCT seq) FROM passages WHERE seq BETWEEN 6 AND 15"), Is.EqualTo(10));
    }

    [Test]
    public async Task New_seqs_carrying_passages_already_stored_add_events_but_no_second_passage()
    {
        await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 1, 10));

        // Seqs 11..20 are new events, but half of them carry the uids of passages 1..5 (an outbox row re-created by a
        // journal recovery): the events are stored, the passage projection keeps one row per uid, the first seq's.
        var batch = Batches.Passages(SchoolA, s_epoch, 11, 20, uid: seq => Batches.PassageUid(s_epoch, seq <= 15 ? seq - 10 : seq));
        var result = await IngestAsync(Batches.Topic(SchoolA), batch);

        Assert.That((result.Inserted, result.Duplicates, result.Watermark), Is.EqualTo((10, 0, (long?)20)));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(20));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(15));
        Assert.That(await CountAsync("SELECT count(*) FROM passages WHERE seq BETWEEN 11 AND 15"), Is.EqualTo(0));
    }

    [Test]
    public async Task Duplicate_events_inside_one_batch_are_stored_once()
    {
        var seqs = new long[] { 1, 2, 2, 3, 3, 3, 4 };
        var batch = Batches.Passages(SchoolA, s_epoch, 1, 4, seqs: seqs);

        var result = await IngestAsync(Batches.Topic(SchoolA), batch);

        Assert.That(result.Outcome, Is.EqualTo(IngestOutcome.Applied), result.Detail);
        Assert.That((result.Inserted, result.Duplicates, result.Watermark), Is.EqualTo((4, 3, (long?)4)));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(4));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(4));
    }

    [Test]
    public async Task Out_of_order_batches_hold_the_watermark_until_the_gap_is_filled()
    {
        var later = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 11, 20));
        Assert.That(later.Watermark, Is.EqualTo(0));
        Assert.That(later.Missing, Is.EqualTo(new[] { new SeqRange(1, 10) }));

        var earlier = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 1, 10));
        Assert.That(earlier.Watermark, Is.EqualTo(20));
        Assert.That(earlier.Missing, Is.Empty);

        var status = await Database.GetSchoolStatusAsync(SchoolA);
        Assert.That((status!.Watermark, status.Lag, status.Epoch), Is.EqualTo((20L, 0L, (Guid?)s_epoch)));
        Assert.That(status.LastSeen, Is.Not.Null);
    }

    [Test]
    public async Task The_watermark_stops_at_each_hole_and_reports_the_missing_ranges()
    {
        await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 1, 5));
        await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 11, 15));
        var result = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 21, 25));

        Assert.That(result.Watermark, Is.EqualTo(5));
        Assert.That(result.Missing, Is.EqualTo(new[] { new SeqRange(6, 10), new SeqRange(16, 20) }));
        var status = await Database.GetSchoolStatusAsync(SchoolA);
        Assert.That(status!.Lag, Is.EqualTo(20));

        result = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 6, 10));
        Assert.That(result.Watermark, Is.EqualTo(15));
        Assert.That(result.Missing, Is.EqualTo(new[] { new SeqRange(16, 20) }));
    }

    [Test]
    public async Task Two_schools_interleaved_keep_their_own_watermarks()
    {
        var epochB = Guid.NewGuid();
        var a1 = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 1, 10));
        var b2 = await IngestAsync(Batches.Topic(SchoolB), Batches.Passages(SchoolB, epochB, 11, 20));
        var a3 = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 21, 30));
        var b1 = await IngestAsync(Batches.Topic(SchoolB), Batches.Passages(SchoolB, epochB, 1, 10));
        var a2 = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 11, 20));

        Assert.That(new[] { a1.Watermark, a3.Watermark, a2.Watermark }, Is.EqualTo(new long?[] { 10, 10, 30 }));
        Assert.That(new[] { b2.Watermark, b1.Watermark }, Is.EqualTo(new long?[] { 0, 20 }));
        Assert.That(await CountAsync($"SELECT count(*) FROM events WHERE school = '{SchoolA}'"), Is.EqualTo(30));
        Assert.That(await CountAsync($"SELECT count(*) FROM events WHERE school = '{SchoolB}'"), Is.EqualTo(20));
    }

    [Test]
    public async Task Concurrent_batches_of_one_school_from_several_workers_end_at_the_full_watermark()
    {
        var batches = Enumerable.Range(0, 20).Select(i => Batches.Passages(SchoolA, s_epoch, i * 25 + 1, i * 25 + 25)).Reverse().ToList();

        var results = await Task.WhenAll(batches.Concat(batches).Select(b => Task.Run(() => IngestAsync(Batches.Topic(SchoolA), b))));

        Assert.That(results.Max(r => r.Watermark), Is.EqualTo(500));
        Assert.That(results.Sum(r => r.Inserted), Is.EqualTo(500));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(500));
        Assert.That(await CountAsync("SELECT watermark FROM school_streams"), Is.EqualTo(500));
    }

    [Test]
    public async Task A_new_epoch_after_a_reinstall_starts_a_new_seq_space()
    {
        var reinstalled = Guid.NewGuid();
        await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 1, 10));

        var fresh = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, reinstalled, 1, 5));

        Assert.That((fresh.Inserted, fresh.Duplicates, fresh.Watermark, fresh.Epoch), Is.EqualTo((5, 0, (long?)5, (Guid?)reinstalled)));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(15));
        Assert.That(await CountAsync($"SELECT watermark FROM school_streams WHERE epoch = '{s_epoch}'"), Is.EqualTo(10));
        var status = await Database.GetSchoolStatusAsync(SchoolA);
        Assert.That((status!.Epoch, status.Watermark), Is.EqualTo(((Guid?)reinstalled, 5L)));
    }

    [Test]
    public async Task Passage_projection_is_idempotent_by_uid()
    {
        // The same passage re-sent under a new seq (a journal recovery that re-created the outbox row) is one passage.
        var batch = Batches.Passages(SchoolA, s_epoch, 1, 3, uid: _ => "019aa4c1f3a67c2e9d0b5f8e1a2c3d4e");
        var result = await IngestAsync(Batches.Topic(SchoolA), batch);
        await IngestAsync(Batches.Topic(SchoolA), batch);

        Assert.That(result.Inserted, Is.EqualTo(3));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT count(*) FROM passages WHERE seq = 1 AND holder_id = 480001 AND gate = 'main-2' AND direction = 'entry'"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT count(*) FROM passages WHERE decided_at = '2026-11-21T02:30:58.902Z'"), Is.EqualTo(1));
    }

    [Test]
    public async Task Other_event_types_are_stored_and_an_unknown_one_is_dead_lettered_but_counts_as_applied()
    {
        AllowErrors = true;
        var batch = Batches.Build(SchoolA, s_epoch, 1, 4,
        [
            (1, "passage", 1, Batches.PassageJson("u-1", 1)),
            (2, "canteen.charge", 1, """{ "schemaVersion": 1, "chargeId": "c-1", "pupilId": 480112, "amountTiyn": 45000 }"""),
            (3, "teleport", 1, """{ "schemaVersion": 1 }"""),
            (4, "passage", 2, Batches.PassageJson("u-4", 4)),
        ]);

        var result = await IngestAsync(Batches.Topic(SchoolA), batch);
        await IngestAsync(Batches.Topic(SchoolA), batch);

        Assert.That(result.Outcome, Is.EqualTo(IngestOutcome.Applied));
        Assert.That(result.Watermark, Is.EqualTo(4));
        Assert.That(result.DeadLetteredSeqs, Is.EqualTo(new long[] { 3, 4 }));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(4));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE reason = 'unsupported-event-schema' AND seq IN (3, 4)"), Is.EqualTo(2));
    }

    [Test]
    public async Task An_invalid_passage_payload_is_dead_lettered_as_one_event()
    {
        var batch = Batches.Build(SchoolA, s_epoch, 1, 2,
        [
            (1, "passage", 1, Batches.PassageJson("u-1", 1)),
            (2, "passage", 1, """{ "schemaVersion": 1, "uid": "u-2", "gate": "main-1", "direction": "sideways" }"""),
        ]);

        var result = await IngestAsync(Batches.Topic(SchoolA), batch);

        Assert.That((result.Watermark, result.DeadLetteredSeqs.Single()), Is.EqualTo(((long?)2, 2L)));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE reason = 'invalid-event' AND detail LIKE '%sideways%'"), Is.EqualTo(1));
    }

    [Test]
    public async Task The_credential_of_a_passage_is_stored_and_a_malformed_one_is_dead_lettered_alone()
    {
        string Passage(string uid, string credentialJson) => Batches.PassageJson(uid, 1).Replace("\"manualBy\": null", "\"manualBy\": null, \"credential\": " + credentialJson, StringComparison.Ordinal);
        var batch = Batches.Build(SchoolA, s_epoch, 1, 4,
        [
            (1, "passage", 1, Passage("u-face", "\"face\"")),
            (2, "passage", 1, Batches.PassageJson("u-old-agent", 2)),
            (3, "passage", 1, Passage("u-bad", "\"<script>\"")),
            (4, "passage", 1, Passage("u-palm", "\"palm\"")),
        ]);

        var result = await IngestAsync(Batches.Topic(SchoolA), batch);

        Assert.That((result.Watermark, result.DeadLetteredSeqs.Single()), Is.EqualTo(((long?)4, 3L)));
        Assert.That(await CountAsync("SELECT count(*) FROM passages WHERE uid = 'u-face' AND credential = 'face'"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT count(*) FROM passages WHERE uid = 'u-old-agent' AND credential IS NULL"), Is.EqualTo(1), "an agent from before the field");
        Assert.That(await CountAsync("SELECT count(*) FROM passages WHERE uid = 'u-palm' AND credential = 'palm'"), Is.EqualTo(1), "a newer agent's kind is kept, not refused");
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE reason = 'invalid-event' AND seq = 3 AND detail LIKE '%credential%'"), Is.EqualTo(1));
    }

    [Test]
    public async Task A_group_of_queued_batches_is_applied_together_and_a_bad_one_among_them_alone_is_dead_lettered()
    {
        AllowErrors = true;
        var other = Guid.Parse("0e9d1c2b-3a4f-4e5d-8c7b-6a5f4e3d2c1b");
        // A catch-up queue as the worker gathers it: out of order, one malformed message, a re-sent overlap, and a batch
        // of a new epoch (a reinstall) that must keep its own seq space and watermark.
        byte[][] group =
        [
            Batches.Passages(SchoolA, s_epoch, 1, 10),
            Batches.Passages(SchoolA, s_epoch, 21, 30),
            Batches.Utf8("""{ "schemaVersion": 1, "type": "events", "school": """),
            Batches.Passages(SchoolA, s_epoch, 11, 20),
            Batches.Passages(SchoolA, s_epoch, 5, 15),
            Batches.Passages(SchoolA, other, 1, 3),
        ];

        var results = await Ingestor.IngestGroupAsync(Batches.Topic(SchoolA), group.Select(g => (ReadOnlyMemory<byte>)g).ToList(), CancellationToken.None);

        Assert.That(results, Has.Count.EqualTo(6));
        Assert.That(results[2].Outcome, Is.EqualTo(IngestOutcome.DeadLettered));
        Assert.That(results[2].Reason, Is.EqualTo(DeadLetterReasons.Truncated));
        var applied = results[0];
        Assert.That(new[] { results[1], results[3], results[4] }, Has.All.SameAs(applied), "one transaction, one result, one watermark for the stream");
        Assert.That((applied.Outcome, applied.Watermark, applied.Inserted, applied.Duplicates), Is.EqualTo((IngestOutcome.Applied, (long?)30, 30, 11)));
        Assert.That(applied.Missing, Is.Empty);
        Assert.That((results[5].Epoch, results[5].Watermark, results[5].Inserted), Is.EqualTo(((Guid?)other, (long?)3, 3)));
        Assert.That(await CountAsync($"SELECT count(*) FROM events WHERE epoch = '{s_epoch}'"), Is.EqualTo(30));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(33));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters"), Is.EqualTo(1));

        // The same group delivered again changes nothing.
        var again = await Ingestor.IngestGroupAsync(Batches.Topic(SchoolA), group.Select(g => (ReadOnlyMemory<byte>)g).ToList(), CancellationToken.None);
        Assert.That((again[0].Inserted, again[0].Watermark), Is.EqualTo((0, (long?)30)));
        Assert.That(await CountAsync("SELECT count(*) FROM events") * 1000 + await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(33_033));
    }

    [Test]
    public async Task A_group_from_a_school_that_is_not_registered_is_dead_lettered_message_by_message()
    {
        AllowErrors = true;
        const string stranger = "sch-stranger";
        byte[][] group = [Batches.Passages(stranger, s_epoch, 1, 5), Batches.Passages(stranger, s_epoch, 6, 10)];

        var results = await Ingestor.IngestGroupAsync(Batches.Topic(stranger), group.Select(g => (ReadOnlyMemory<byte>)g).ToList(), CancellationToken.None);

        Assert.That(results.Select(r => (r.Outcome, r.Reason)), Has.All.EqualTo((IngestOutcome.DeadLettered, (string?)DeadLetterReasons.UnknownSchool)));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE reason = 'unknown-school'"), Is.EqualTo(2), "each message kept for IT to replay");
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.Zero);
        Assert.That(await CountAsync("SELECT count(*) FROM school_streams"), Is.Zero);
    }

    [Test]
    public async Task Payloads_the_database_cannot_store_are_dead_lettered_one_by_one_and_the_stream_goes_on()
    {
        AllowErrors = true;
        // Valid JSON both, but PostgreSQL's jsonb refuses \u0000 and a lone surrogate: as part of the COPY they would fail
        // the whole batch on every redelivery and stop the school's stream.
        var batch = Batches.Build(SchoolA, s_epoch, 1, 4,
        [
            (1, "passage", 1, Batches.PassageJson("u-1", 1)),
            (2, "passage", 1, Batches.PassageJson("u-2", 2).Replace("main-3", "main\\u0000-3", StringComparison.Ordinal)),
            (3, "canteen.charge", 1, """{ "schemaVersion": 1, "chargeId": "c-3", "note": "\ud800 alone" }"""),
            (4, "canteen.charge", 1, """{ "schemaVersion": 1, "chargeId": "c-4", "note": "smile \ud83d\ude00, a \\u0000 that is text" }"""),
        ]);

        var result = await IngestAsync(Batches.Topic(SchoolA), batch);

        Assert.That((result.Outcome, result.Watermark), Is.EqualTo((IngestOutcome.Applied, (long?)4)));
        Assert.That(result.DeadLetteredSeqs, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(4));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT count(*) FROM events WHERE seq IN (2, 3) AND payload = 'null'::jsonb"), Is.EqualTo(2));
        Assert.That(await CountAsync("SELECT count(*) FROM events WHERE seq = 4 AND payload->>'note' = 'smile 😀, a \\u0000 that is text'"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE seq = 2 AND detail LIKE '%\\u0000 (NUL)%' AND position('main\\u0000-3' IN convert_from(payload, 'UTF8')) > 0"),
            Is.EqualTo(1), "the dead letter keeps the payload as it arrived");
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE seq = 3 AND detail LIKE '%low surrogate after it%'"), Is.EqualTo(1));
    }

    [Test]
    public async Task Stored_rows_read_back_as_the_payload_said()
    {
        await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epoch, 7, 7));

        await using var connection = new Npgsql.NpgsqlConnection(ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var read = new Npgsql.NpgsqlCommand("""
            SELECT p.uid, p.school, p.epoch, p.seq, p.gate, p.direction, p.holder_kind, p.holder_id, p.decided_at, p.completed_at, p.manual_by,
                   e.type, e.schema_version, e.payload->>'uid'
            FROM passages p JOIN events e USING (school, epoch, seq)
            """, connection);
        await using var reader = await read.ExecuteReaderAsync();
        Assert.That(await reader.ReadAsync(), Is.True);
        Assert.That(reader.GetString(0), Is.EqualTo(Batches.PassageUid(s_epoch, 7)));
        Assert.That((reader.GetString(1), reader.GetGuid(2), reader.GetInt64(3)), Is.EqualTo((SchoolA, s_epoch, 7L)));
        Assert.That((reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetInt64(7)), Is.EqualTo(("main-4", "entry", "pupil", 480007L)));
        Assert.That(reader.GetFieldValue<DateTimeOffset>(8), Is.EqualTo(DateTimeOffset.Parse("2026-11-21T07:30:58.902+05:00", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(reader.GetFieldValue<DateTimeOffset>(9), Is.EqualTo(DateTimeOffset.Parse("2026-11-21T07:30:59.640+05:00", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(reader.IsDBNull(10), Is.True, "manualBy null");
        Assert.That((reader.GetString(11), reader.GetInt32(12), reader.GetString(13)), Is.EqualTo(("passage", 1, Batches.PassageUid(s_epoch, 7))));
    }

    [TestCase("""{"a":"\u00e9\ud83d\ude00"}""", null)]
    [TestCase("""{"a":"\\u0000 is only text"}""", null)]
    [TestCase("""{"a":"\u0000"}""", "NUL")]
    [TestCase("""{"a":"x\uDC00"}""", "low surrogate without a high")]
    [TestCase("""{"a":"\ud83d"}""", "high surrogate without a low")]
    [TestCase("""{"a":"\ud83d\u0041"}""", "high surrogate without a low")]
    [Category("Unit")]
    public void Escapes_jsonb_refuses_are_found(string json, string? problem)
    {
        string? found = EventIngestor.UnstorableEscape(System.Text.Encoding.UTF8.GetBytes(json));
        if (problem is null) Assert.That(found, Is.Null);
        else Assert.That(found, Does.Contain(problem));
    }
}
