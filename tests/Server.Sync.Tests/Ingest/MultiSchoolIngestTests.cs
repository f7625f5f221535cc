using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Tests.Support;

namespace Kezekshi.Server.Sync.Tests.Ingest;

/// <summary>
/// The morning peak: event batches of several schools applied in one transaction (<see cref="EventIngestor.IngestManyAsync"/>).
/// Each school keeps its own stream rules, and one school's bad message or failing part neither blocks nor loses nor
/// doubles another school's events.
/// </summary>
public sealed class MultiSchoolIngestTests : CentreFixture
{
    private static readonly Guid s_epochA = Guid.Parse("0b6f7e2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b");
    private static readonly Guid s_epochB = Guid.Parse("9a8b7c6d-5e4f-4a3b-8c1d-2e3f4a5b6c7d");
    private static readonly Guid s_epochC = Guid.Parse("1e2d3c4b-5a69-4788-9aab-bccddeeff001");
    private const string SchoolC = "sch-0003";

    private Task<IReadOnlyList<IngestResult?>> IngestManyAsync(params (string Topic, byte[] Payload)[] messages) =>
        Ingestor.IngestManyAsync([.. messages.Select(m => (m.Topic, (ReadOnlyMemory<byte>)m.Payload))], CancellationToken.None);

    [Test]
    public async Task Batches_of_several_schools_in_one_group_each_get_their_own_watermark_and_redelivery_doubles_nothing()
    {
        await Database.RegisterSchoolAsync(SchoolC, "almaty", "School 3");
        (string, byte[])[] group =
        [
            (Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epochA, 1, 10)),
            (Batches.Topic(SchoolB), Batches.Passages(SchoolB, s_epochB, 1, 1)),
            (Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epochA, 11, 20)),
            (Batches.Topic(SchoolC), Batches.Passages(SchoolC, s_epochC, 2, 3)), // seq 1 of C not received yet
            (Batches.Topic(SchoolB), Batches.Passages(SchoolB, s_epochB, 2, 2)),
        ];

        var first = await IngestManyAsync(group);
        var again = await IngestManyAsync([.. group, (Batches.Topic(SchoolC), Batches.Passages(SchoolC, s_epochC, 1, 1))]);

        Assert.That(first.Select(r => r!.Outcome), Is.All.EqualTo(IngestOutcome.Applied));
        Assert.That(first[0], Is.SameAs(first[2]), "the two batches of school A share one result (one watermark)");
        Assert.That((first[0]!.School, first[0]!.Watermark, first[0]!.Inserted), Is.EqualTo((SchoolA, (long?)20, 20)));
        Assert.That((first[1]!.School, first[1]!.Watermark, first[1]!.Inserted), Is.EqualTo((SchoolB, (long?)2, 2)));
        Assert.That((first[3]!.School, first[3]!.Watermark, first[3]!.Missing), Is.EqualTo((SchoolC, (long?)0, new[] { new SeqRange(1, 1) })));
        Assert.That((again[0]!.Inserted, again[0]!.Duplicates, again[0]!.Watermark), Is.EqualTo((0, 20, (long?)20)));
        Assert.That((again[1]!.Inserted, again[1]!.Watermark), Is.EqualTo((0, (long?)2)));
        Assert.That((again[5]!.School, again[5]!.Inserted, again[5]!.Watermark), Is.EqualTo((SchoolC, 1, (long?)3)));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(25));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(25));
        Assert.That(await CountAsync($"SELECT count(*) FROM events WHERE school = '{SchoolB}' AND epoch = '{s_epochB}'"), Is.EqualTo(2));
    }

    [Test]
    public async Task A_poison_message_of_one_school_is_dead_lettered_alone_and_the_other_schools_are_applied()
    {
        var results = await IngestManyAsync(
            (Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epochA, 1, 5)),
            (Batches.Topic(SchoolB), Batches.Utf8("{ \"schemaVersion\": 1, \"type\": events }")),
            (Batches.Topic("sch-9999"), Batches.Passages("sch-9999", s_epochC, 1, 2)),
            (Batches.Topic(SchoolB), Batches.Passages(SchoolB, s_epochB, 1, 3)));

        Assert.That(results[0]!.Outcome, Is.EqualTo(IngestOutcome.Applied));
        Assert.That((results[1]!.Outcome, results[1]!.Reason), Is.EqualTo((IngestOutcome.DeadLettered, DeadLetterReasons.MalformedJson)));
        Assert.That((results[2]!.Outcome, results[2]!.Reason), Is.EqualTo((IngestOutcome.DeadLettered, DeadLetterReasons.UnknownSchool)));
        Assert.That((results[3]!.Outcome, results[3]!.Watermark), Is.EqualTo((IngestOutcome.Applied, (long?)3)));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(8));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters"), Is.EqualTo(2));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE school = 'sch-9999' AND reason = 'unknown-school'"), Is.EqualTo(1));
    }

    [Test]
    public async Task A_part_the_database_refuses_is_not_acknowledged_and_does_not_lose_or_double_the_other_schools()
    {
        AllowErrors = true; // the refused part is logged as an error
        // A fault only the database sees: school B's passages break a constraint added for this test, so its part of the
        // shared transaction fails after school A's part was already written in it.
        await ExecuteAsync("ALTER TABLE passages ADD CONSTRAINT test_refuse_school_b CHECK (school <> 'sch-0002')");
        IReadOnlyList<IngestResult?> results;
        try
        {
            results = await IngestManyAsync(
                (Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epochA, 1, 5)),
                (Batches.Topic(SchoolB), Batches.Passages(SchoolB, s_epochB, 1, 3)),
                (Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epochA, 6, 8)));
        }
        finally
        {
            await ExecuteAsync("ALTER TABLE passages DROP CONSTRAINT test_refuse_school_b");
        }

        Assert.That(results[1], Is.Null, "school B's batch was not stored: no watermark may answer it");
        Assert.That((results[0]!.Outcome, results[0]!.Watermark), Is.EqualTo((IngestOutcome.Applied, (long?)8)));
        Assert.That(await CountAsync($"SELECT count(*) FROM events WHERE school = '{SchoolA}'"), Is.EqualTo(8));
        Assert.That(await CountAsync($"SELECT count(*) FROM events WHERE school = '{SchoolB}'"), Is.EqualTo(0));
        Assert.That(Logged.Any(l => l.Contains(SchoolB, StringComparison.Ordinal) && l.Contains("not acknowledged", StringComparison.Ordinal)), Is.True);

        // The school sends it again (with A's batch redelivered too): B is stored once, A is not doubled.
        var resent = await IngestManyAsync(
            (Batches.Topic(SchoolB), Batches.Passages(SchoolB, s_epochB, 1, 3)),
            (Batches.Topic(SchoolA), Batches.Passages(SchoolA, s_epochA, 1, 5)));
        Assert.That((resent[0]!.Inserted, resent[0]!.Watermark), Is.EqualTo((3, (long?)3)));
        Assert.That((resent[1]!.Inserted, resent[1]!.Watermark), Is.EqualTo((0, (long?)8)));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(11));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(11));
    }

    [Test]
    public async Task Groups_of_many_schools_applied_concurrently_store_every_event_once()
    {
        // More streams than one transaction takes, in groups that overlap (redelivery) and run at the same time:
        // the (school, epoch) lock order keeps them from deadlocking, the unique keys from doubling.
        const int schools = 40;
        for (int i = 3; i <= schools; i++) await Database.RegisterSchoolAsync($"sch-{i:0000}", "almaty", $"School {i}");
        var epochs = Enumerable.Range(1, schools).Select(_ => Guid.NewGuid()).ToArray();
        (string, byte[]) Message(int school, long first, long last)
        {
            string id = $"sch-{school:0000}";
            return (Batches.Topic(id), Batches.Passages(id, epochs[school - 1], first, last));
        }
        var groups = Enumerable.Range(0, 4).Select(g => Enumerable.Range(1, schools).Reverse().Where(s => s % 4 != g)
            .SelectMany(s => new[] { Message(s, 1, 2), Message(s, 3, 3) }).ToArray()).ToArray();

        var all = await Task.WhenAll(groups.Select(g => Task.Run(() => IngestManyAsync(g))));

        Assert.That(all.SelectMany(r => r), Is.All.Not.Null);
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(schools * 3));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(schools * 3));
        Assert.That(await CountAsync("SELECT count(*) FROM school_streams WHERE watermark = 3"), Is.EqualTo(schools));
    }
}
