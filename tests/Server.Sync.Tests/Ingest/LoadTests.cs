using System.Diagnostics;
using Kezekshi.Server.Sync.Tests.Support;

namespace Kezekshi.Server.Sync.Tests.Ingest;

public sealed class LoadTests : CentreFixture
{
    [Test]
    public async Task A_30_day_backlog_of_72000_passages_in_batches_of_500_is_counted_once()
    {
        const int days = 30, pupils = 1200, passagesPerPupil = 2, batchSize = 500;
        const int total = days * pupils * passagesPerPupil;
        var epoch = Guid.NewGuid();
        var batches = new List<byte[]>();
        for (long first = 1; first <= total; first += batchSize)
            batches.Add(Batches.Passages(SchoolA, epoch, first, Math.Min(total, first + batchSize - 1)));
        // Re-deliver every tenth batch, as a reconnect re-send would.
        var deliveries = batches.Concat(batches.Where((_, i) => i % 10 == 0)).ToList();

        var clock = Stopwatch.StartNew();
        long watermark = 0, inserted = 0;
        foreach (var batch in deliveries)
        {
            var result = await IngestAsync(Batches.Topic(SchoolA), batch);
            watermark = Math.Max(watermark, result.Watermark ?? 0);
            inserted += result.Inserted;
        }
        clock.Stop();

        Assert.That(watermark, Is.EqualTo(total));
        Assert.That(inserted, Is.EqualTo(total));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(total));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(total));
        long delivered = (long)deliveries.Count * batchSize;
        await TestContext.Out.WriteLineAsync(
            $"{total:N0} events in {batches.Count} batches (+{deliveries.Count - batches.Count} re-deliveries, ~{batches[0].Length / 1024} KiB each) " +
            $"in {clock.Elapsed.TotalSeconds:F1} s: {total / clock.Elapsed.TotalSeconds:N0} new events/s, {delivered / clock.Elapsed.TotalSeconds:N0} delivered events/s");
    }

    [Test]
    public async Task The_same_backlog_arriving_in_reverse_order_is_counted_once_and_the_watermark_jumps_at_the_end()
    {
        // The worst order for the watermark: every batch above a hole, the hole filled last (shared subscriptions
        // may deliver in any order). The watermark query scans the seqs above the watermark each time.
        const int total = 72_000, batchSize = 500;
        var epoch = Guid.NewGuid();
        var batches = new List<byte[]>();
        for (long first = 1; first <= total; first += batchSize)
            batches.Add(Batches.Passages(SchoolA, epoch, first, Math.Min(total, first + batchSize - 1)));
        batches.Reverse();

        var clock = Stopwatch.StartNew();
        var watermarks = new List<long>();
        foreach (var batch in batches) watermarks.Add((await IngestAsync(Batches.Topic(SchoolA), batch)).Watermark ?? -1);
        clock.Stop();

        Assert.That(watermarks.Take(batches.Count - 1), Is.All.EqualTo(0));
        Assert.That(watermarks[^1], Is.EqualTo(total));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(total));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(total));
        await TestContext.Out.WriteLineAsync($"reverse order: {total:N0} events in {clock.Elapsed.TotalSeconds:F1} s: {total / clock.Elapsed.TotalSeconds:N0} events/s");
    }
}
