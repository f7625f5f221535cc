using Kezekshi.Server.Sync.Domain;
using Kezekshi.Server.Sync.Tests.Support;
using Npgsql;

namespace Kezekshi.Server.Sync.Tests.Domain;

public sealed class ChangeFeedTests : DomainFixture
{
    [Test]
    public async Task Versions_stay_contiguous_when_many_writers_append_at_once_and_some_roll_back()
    {
        const int writers = 6, perWriter = 20;
        int committedA = 0;
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < perWriter; i++)
            {
                await using var connection = new NpgsqlConnection(ConnectionString);
                await connection.OpenAsync();
                await using var transaction = await connection.BeginTransactionAsync();
                string school = i % 3 == 0 ? SchoolB : SchoolA;
                await ChangeFeed.AppendAsync(connection, transaction, school, ChangeKinds.Announcement, 1,
                    $$"""{ "announcementId": "a-{{w}}-{{i}}", "title": "t", "body": "b", "showFrom": "2026-11-23T00:00:00+05:00", "showUntil": "2026-11-24T00:00:00+05:00" }""");
                if (i % 5 == 4)
                {
                    await transaction.RollbackAsync(); // a domain write that failed: its version must not leave a hole
                    continue;
                }
                await transaction.CommitAsync();
                if (school == SchoolA) Interlocked.Increment(ref committedA);
            }
        })).ToArray();
        await Task.WhenAll(tasks);

        var feedA = await FeedAsync(SchoolA);
        var feedB = await FeedAsync(SchoolB);
        Assert.That(feedA.Select(c => c.Version), Is.EqualTo(Enumerable.Range(1, committedA).Select(v => (long)v)), "school A: 1..n without holes or doubles");
        Assert.That(feedB.Select(c => c.Version), Is.EqualTo(Enumerable.Range(1, feedB.Count).Select(v => (long)v)), "school B: its own 1..n");
        Assert.That(feedA.Count + feedB.Count, Is.EqualTo(writers * perWriter - writers * (perWriter / 5)));
        Assert.That(await CountAsync($"SELECT version FROM school_feeds WHERE school = '{SchoolA}'"), Is.EqualTo(committedA));
    }

    [Test]
    public async Task A_template_upsert_records_where_the_pupils_template_went()
    {
        var pupil = await EnrolAsync(SchoolA);
        var consent = await GrantAsync(pupil.PupilId);
        var receipt = await Consents.SendTemplateAsync(pupil.PupilId, Template("t-1", SchoolB, consent.ConsentId), CancellationToken.None);

        var placements = await Consents.PlacementsAsync(pupil.PupilId, CancellationToken.None);
        Assert.That(placements, Has.Count.EqualTo(1));
        Assert.That(placements[0].School, Is.EqualTo(SchoolB));
        Assert.That(placements[0].Version, Is.EqualTo(receipt.Changes[0].Version));
        var change = (await FeedAsync(SchoolB)).Single();
        Assert.That(change.Kind, Is.EqualTo("template.upsert"));
        Assert.That(change.Data.GetProperty("ciphertext").GetString(), Is.EqualTo("Y2lwaGVydGV4dA=="));
        Assert.That(change.Data.GetProperty("keyId").GetString(), Is.EqualTo("k-00112233aabbccdd"), "relayed as sealed, for the named key");
    }

    [Test]
    public async Task An_unknown_kind_is_refused_before_anything_is_written()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var e = Assert.ThrowsAsync<ArgumentException>(() => ChangeFeed.AppendAsync(connection, transaction, SchoolA, "pupil.delete-everything", 1, "{}"));
        Assert.That(e!.Message, Does.Contain("§5.1"));
        await transaction.CommitAsync();
        Assert.That(await CountAsync("SELECT count(*) FROM downlink_changes"), Is.Zero);
    }

    [Test]
    public async Task Roster_changes_reach_the_school_with_the_payloads_of_the_protocol_and_without_the_full_name()
    {
        var pupil = await EnrolAsync(SchoolA, "Айгерим Сейтқали");
        await Roster.PutCardAsync(3922187734, new CardRequest("pupil", pupil.PupilId, null), CancellationToken.None);
        await Roster.BlockCardAsync(3922187734, new CardBlockRequest("lost"), CancellationToken.None);
        await Money.SetDailyLimitAsync(pupil.PupilId, new LimitRequest(150000), CancellationToken.None);
        await Roster.LeavePupilAsync(pupil.PupilId, CancellationToken.None);
        await Roster.LeavePupilAsync(pupil.PupilId, CancellationToken.None); // a repeat writes nothing

        var feed = await FeedAsync(SchoolA);
        Assert.That(feed.Select(c => c.Kind), Is.EqualTo(new[] { "class.upsert", "pupil.upsert", "card.upsert", "card.block", "limits.set", "pupil.leave" }));
        Assert.That(feed.Select(c => c.Version), Is.EqualTo(new long[] { 1, 2, 3, 4, 5, 6 }));
        var upsert = feed[1].Data;
        Assert.That(upsert.GetProperty("pupilId").GetInt64(), Is.EqualTo(pupil.PupilId));
        Assert.That(upsert.GetProperty("classId").GetInt64(), Is.EqualTo(pupil.ClassId));
        Assert.That(upsert.GetProperty("displayName").GetString(), Is.EqualTo("Айгерим С."));
        Assert.That(upsert.GetProperty("status").GetString(), Is.EqualTo("active"));
        Assert.That(feed.Select(c => c.Data.GetRawText()), Has.None.Contains("Сейтқали"), "the full name stays at the centre");
        Assert.That(feed[2].Data.GetProperty("cardNumber").GetInt64(), Is.EqualTo(3922187734));
        Assert.That(feed[3].Data.GetProperty("status").GetString(), Is.EqualTo("lost"));
        Assert.That(feed[4].Data.GetProperty("dailyLimitTiyn").GetInt64(), Is.EqualTo(150000));
    }

    [Test]
    public async Task A_transfer_tells_the_old_school_the_pupil_left_and_gives_the_new_school_the_pupil_and_cards()
    {
        var pupil = await EnrolAsync(SchoolA);
        await Roster.PutCardAsync(1001, new CardRequest("pupil", pupil.PupilId, "active"), CancellationToken.None);
        var (classB, _) = await Roster.PutClassAsync(SchoolB, new ClassRequest("6А", 6), CancellationToken.None);

        var moved = await Roster.UpdatePupilAsync(pupil.PupilId, new PupilRequest(classB.ClassId, pupil.FullName, null), CancellationToken.None);
        var again = await Roster.UpdatePupilAsync(pupil.PupilId, new PupilRequest(classB.ClassId, pupil.FullName, null), CancellationToken.None);

        Assert.That(moved.School, Is.EqualTo(SchoolB));
        Assert.That(again, Is.EqualTo(moved));
        Assert.That((await FeedAsync(SchoolA)).Select(c => c.Kind).Last(), Is.EqualTo("pupil.leave"));
        Assert.That((await FeedAsync(SchoolB)).Select(c => c.Kind), Is.EqualTo(new[] { "class.upsert", "pupil.upsert", "card.upsert" }), "the repeated PUT wrote nothing");
    }

    [Test]
    public async Task Pupil_ids_are_large_random_numbers_not_a_count()
    {
        var ids = new List<long>();
        for (int i = 0; i < 5; i++) ids.Add((await EnrolAsync(SchoolA, $"Pupil {i}")).PupilId);
        Assert.That(ids, Is.Unique);
        Assert.That(ids, Is.All.InRange(100_000_000_000_000L, 900_000_000_000_000L));
        Assert.That(ids.Zip(ids.Skip(1), (a, b) => b - a), Is.Not.All.EqualTo(1L));
    }
}
