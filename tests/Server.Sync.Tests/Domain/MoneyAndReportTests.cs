using Kezekshi.Server.Sync.Domain;
using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Tests.Support;
using static Kezekshi.Server.Sync.Tests.Support.SchoolEvents;

namespace Kezekshi.Server.Sync.Tests.Domain;

public sealed class MoneyAndReportTests : DomainFixture
{
    [Test]
    public async Task A_topup_repeated_concurrently_with_its_id_is_recorded_and_sent_once()
    {
        var pupil = await EnrolAsync(SchoolA);
        var request = new TopupRequest("tu-2026-0091823", pupil.PupilId, 200000, null, "kaspi");

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => Money.TopupAsync(request, CancellationToken.None))));

        Assert.That(results.Count(r => r.Created), Is.EqualTo(1));
        Assert.That(results.Select(r => r.AmountTiyn), Is.All.EqualTo(200000));
        Assert.That(await CountAsync("SELECT count(*) FROM topups"), Is.EqualTo(1));
        var topups = (await FeedAsync(SchoolA)).Where(c => c.Kind == "topup").ToList();
        Assert.That(topups, Has.Count.EqualTo(1));
        Assert.That(topups[0].Data.GetProperty("topupId").GetString(), Is.EqualTo("tu-2026-0091823"));
        Assert.That(topups[0].Data.GetProperty("amountTiyn").GetInt64(), Is.EqualTo(200000));
        Assert.That(topups[0].Data.GetProperty("pupilId").GetInt64(), Is.EqualTo(pupil.PupilId));
    }

    [Test]
    public async Task A_topup_id_reused_with_another_amount_is_a_conflict_and_a_zero_amount_is_refused()
    {
        var pupil = await EnrolAsync(SchoolA);
        await Money.TopupAsync(new TopupRequest("tu-1", pupil.PupilId, 5000, null, "kaspi"), CancellationToken.None);

        var conflict = Assert.ThrowsAsync<CentreRequestException>(() => Money.TopupAsync(new TopupRequest("tu-1", pupil.PupilId, 6000, null, "kaspi"), CancellationToken.None));
        Assert.That(conflict!.Problem, Is.EqualTo(RequestProblem.Conflict));
        var zero = Assert.ThrowsAsync<CentreRequestException>(() => Money.TopupAsync(new TopupRequest("tu-2", pupil.PupilId, 0, null, "kaspi"), CancellationToken.None));
        Assert.That(zero!.Field, Is.EqualTo("amountTiyn"));
        var unknown = Assert.ThrowsAsync<CentreRequestException>(() => Money.TopupAsync(new TopupRequest("tu-3", 12345, 100, null, "kaspi"), CancellationToken.None));
        Assert.That(unknown!.Problem, Is.EqualTo(RequestProblem.NotFound));
    }

    [Test]
    public async Task The_balance_is_topups_minus_charges_plus_refunds_each_counted_once()
    {
        var pupil = await EnrolAsync(SchoolA);
        var other = await EnrolAsync(SchoolA, "Other Pupil");
        await Money.TopupAsync(new TopupRequest("tu-1", pupil.PupilId, 200000, null, "kaspi"), CancellationToken.None);
        await Money.TopupAsync(new TopupRequest("tu-2", pupil.PupilId, 50000, null, "cash-office"), CancellationToken.None);
        var day = At(2026, 11, 23, 12, 0);
        var events = new[]
        {
            Charge("c-1", pupil.PupilId, 45000, day), Charge("c-2", pupil.PupilId, 30000, day.AddMinutes(5)),
            Refund("r-1", "c-2", pupil.PupilId, 30000, day.AddMinutes(6)), Charge("c-3", other.PupilId, 99000, day),
        };
        var epoch = Guid.NewGuid();
        await Ingest(SchoolA, epoch, 1, events);
        await Ingest(SchoolA, epoch, 1, events); // redelivery
        await Ingest(SchoolA, Guid.NewGuid(), 1, events[..1]); // the same charge again from a restored gate PC (new epoch)

        var balance = await Money.BalanceAsync(pupil.PupilId, CancellationToken.None);

        Assert.That(balance, Is.EqualTo(new BalanceView(pupil.PupilId, 250000, 75000, 30000, 205000)));
    }

    [Test]
    public async Task The_dashboard_counts_distinct_pupils_entering_and_meals_per_school_and_day()
    {
        var a1 = await EnrolAsync(SchoolA, "A One");
        var a2 = await EnrolAsync(SchoolA, "A Two");
        var b1 = await EnrolAsync(SchoolB, "B One");
        var monday = At(2026, 11, 23, 7, 40);
        var tuesday = At(2026, 11, 24, 7, 45);
        await Ingest(SchoolA, Guid.NewGuid(), 1,
        [
            Passage("p1", a1.PupilId, monday), Passage("p2", a1.PupilId, monday.AddHours(5), "exit"), Passage("p3", a1.PupilId, monday.AddHours(6)), // re-entry counts once
            Passage("p4", a2.PupilId, monday), Passage("p5", a2.PupilId, tuesday, decision: "denied", outcome: "denied"), // denied is not attendance
            Passage("p6", a1.PupilId, tuesday), Passage("p7", a2.PupilId, tuesday.AddMinutes(1), outcome: "not-passed"), // turned back at the turnstile
            Charge("c1", a1.PupilId, 45000, monday.AddHours(4)), Charge("c2", a2.PupilId, 45000, monday.AddHours(4)), Charge("c3", a1.PupilId, 30000, tuesday.AddHours(4)),
        ]);
        await Ingest(SchoolB, Guid.NewGuid(), 1, [Passage("p8", b1.PupilId, At(2026, 11, 23, 23, 30))]); // late evening: still Monday in Almaty, Monday 18:30 UTC
        await Ingest(SchoolC, Guid.NewGuid(), 1, [Passage("p9", b1.PupilId, monday)], region: "astana"); // another region

        var rows = await Reports.DashboardAsync("almaty", new DateOnly(2026, 11, 23), new DateOnly(2026, 11, 24), CancellationToken.None);

        Assert.That(rows, Is.EqualTo(new[]
        {
            new DashboardRow(SchoolA, "School 1", new DateOnly(2026, 11, 23), 2, 2),
            new DashboardRow(SchoolB, "School 2", new DateOnly(2026, 11, 23), 1, 0),
            new DashboardRow(SchoolA, "School 1", new DateOnly(2026, 11, 24), 1, 1),
        }));
        var e = Assert.ThrowsAsync<CentreRequestException>(() => Reports.DashboardAsync("nowhere", null, null, CancellationToken.None));
        Assert.That(e!.Problem, Is.EqualTo(RequestProblem.NotFound));
    }

    [Test]
    public async Task A_guardian_sees_their_childs_passages_and_purchases_and_nothing_of_another_child()
    {
        var child = await EnrolAsync(SchoolA, "Child One");
        var stranger = await EnrolAsync(SchoolA, "Child Two");
        var parent = await Roster.AddGuardianAsync(new GuardianRequest("Parent One", null), CancellationToken.None);
        await Roster.LinkGuardianAsync(parent.GuardianId, child.PupilId, new GuardianLinkRequest(null), CancellationToken.None);
        var day = At(2026, 11, 23, 7, 40);
        await Ingest(SchoolA, Guid.NewGuid(), 1,
            [Passage("p1", child.PupilId, day), Passage("p2", stranger.PupilId, day), Charge("c1", child.PupilId, 45000, day.AddHours(4)), Charge("c2", stranger.PupilId, 1, day)]);

        var passages = await Reports.PassagesForGuardianAsync(parent.GuardianId, child.PupilId, new DateOnly(2026, 11, 23), new DateOnly(2026, 11, 23), CancellationToken.None);
        var purchases = await Reports.PurchasesForGuardianAsync(parent.GuardianId, child.PupilId, new DateOnly(2026, 11, 23), new DateOnly(2026, 11, 23), CancellationToken.None);

        Assert.That(passages, Has.Count.EqualTo(1));
        Assert.That(passages[0].DecidedAt, Is.EqualTo(day));
        Assert.That(purchases.Select(p => (p.Kind, p.Id, p.AmountTiyn)), Is.EqualTo(new[] { ("charge", "c1", 45000L) }));
        var e = Assert.ThrowsAsync<CentreRequestException>(() =>
            Reports.PassagesForGuardianAsync(parent.GuardianId, stranger.PupilId, null, null, CancellationToken.None));
        Assert.That(e!.Problem, Is.EqualTo(RequestProblem.NotFound));
    }

    private async Task Ingest(string school, Guid epoch, long firstSeq, (string Type, string Payload, DateTimeOffset At)[] events, string region = "almaty")
    {
        var result = await IngestAsync(Batches.Topic(school, region), Batch(school, epoch, firstSeq, events, region));
        Assert.That(result.Outcome, Is.EqualTo(IngestOutcome.Applied), result.Detail);
    }
}
