using System.Diagnostics;
using Kezekshi.Server.Sync.Domain;
using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Tests.Support;
using static Kezekshi.Server.Sync.Tests.Support.SchoolEvents;

namespace Kezekshi.Server.Sync.Tests.Domain;

/// <summary>
/// A 1,200-pupil school at realistic size: its roster written through the domain (every change to the feed), 30 school
/// days of passages and lunches ingested, then the dashboard and balances read back. Prints the rates; asserts only counts.
/// </summary>
public sealed class DomainLoadTests : DomainFixture
{
    private const int Pupils = 1200, Days = 10;

    [Test]
    public async Task Two_weeks_of_a_1200_pupil_school_add_up_on_the_dashboard_and_in_balances()
    {
        // Roster: one class per 30 pupils, a card and a top-up each, from four writers at once (as an import would).
        var clock = Stopwatch.StartNew();
        var classes = new List<long>();
        for (int c = 0; c < Pupils / 30; c++)
            classes.Add((await Roster.PutClassAsync(SchoolA, new ClassRequest($"{c / 4 + 1}-{(char)('A' + c % 4)}", c / 4 + 1), CancellationToken.None)).Class.ClassId);
        var pupils = new long[Pupils];
        await Parallel.ForEachAsync(Enumerable.Range(0, Pupils), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
        {
            var pupil = await Roster.EnrolPupilAsync(new PupilRequest(classes[i / 30], $"Pupil {i:D4} Test", null), ct);
            pupils[i] = pupil.PupilId;
            await Roster.PutCardAsync(10_000_000 + i, new CardRequest("pupil", pupil.PupilId, null), ct);
            await Money.TopupAsync(new TopupRequest($"tu-{i}", pupil.PupilId, 1_000_000, null, "kaspi"), ct);
        });
        clock.Stop();
        var roster = clock.Elapsed;
        var feed = await FeedAsync(SchoolA);
        int changes = classes.Count + 3 * Pupils;
        Assert.That(feed.Select(c => c.Version), Is.EqualTo(Enumerable.Range(1, changes).Select(v => (long)v)));

        // Ten school days: entry and exit per pupil, one lunch each, in 500-event batches.
        var all = new List<(string Type, string Payload, DateTimeOffset At)>(Pupils * Days * 3);
        for (int d = 0; d < Days; d++)
        {
            var morning = At(2026, 10, 1, 7, 30).AddDays(d);
            for (int i = 0; i < Pupils; i++)
            {
                all.Add(Passage($"p-{d}-{i}-in", pupils[i], morning.AddSeconds(i)));
                all.Add(Charge($"c-{d}-{i}", pupils[i], 45_000, morning.AddHours(3).AddSeconds(i)));
                all.Add(Passage($"p-{d}-{i}-out", pupils[i], morning.AddHours(6).AddSeconds(i), "exit"));
            }
        }
        var epoch = Guid.NewGuid();
        clock.Restart();
        for (int first = 0; first < all.Count; first += 500)
        {
            var result = await IngestAsync(Batches.Topic(SchoolA), Batch(SchoolA, epoch, first + 1, all.GetRange(first, Math.Min(500, all.Count - first))));
            Assert.That(result.Outcome, Is.EqualTo(IngestOutcome.Applied));
        }
        clock.Stop();
        var ingest = clock.Elapsed;

        clock.Restart();
        var dashboard = await Reports.DashboardAsync("almaty", new DateOnly(2026, 10, 1), new DateOnly(2026, 10, Days), CancellationToken.None);
        clock.Stop();
        var dashboardTime = clock.Elapsed;
        clock.Restart();
        var balances = new List<BalanceView>();
        foreach (long pupil in pupils.Take(100)) balances.Add(await Money.BalanceAsync(pupil, CancellationToken.None));
        clock.Stop();

        Assert.That(dashboard, Has.Count.EqualTo(Days));
        Assert.That(dashboard.Select(r => (r.Attendance, r.Meals)), Is.All.EqualTo((1200L, 1200L)));
        Assert.That(balances.Select(b => b.BalanceTiyn), Is.All.EqualTo(1_000_000L - Days * 45_000L));
        await TestContext.Out.WriteLineAsync($"""
            | step (shared 2-core machine, PostgreSQL 15 fsync=off) | size | time | rate |
            |---|---|---|---|
            | roster import through the domain, 4 writers | {changes:N0} feed changes | {roster.TotalSeconds:F1} s | {changes / roster.TotalSeconds:N0} changes/s |
            | ingest of {Days} school days | {all.Count:N0} events | {ingest.TotalSeconds:F1} s | {all.Count / ingest.TotalSeconds:N0} events/s |
            | region dashboard, {Days} days | {dashboard.Count} rows | {dashboardTime.TotalMilliseconds:F0} ms | |
            | balance of one pupil ({Days} charges) | 100 pupils | {clock.Elapsed.TotalMilliseconds / 100:F1} ms each | |
            """);
    }
}
