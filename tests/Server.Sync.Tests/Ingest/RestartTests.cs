using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Tests.Support;

namespace Kezekshi.Server.Sync.Tests.Ingest;

public sealed class RestartTests : CentreFixture
{
    [Test]
    public async Task PostgreSQL_restarted_between_two_batches_loses_nothing_and_doubles_nothing()
    {
        var epoch = Guid.NewGuid();
        var first = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, epoch, 1, 100));
        Assert.That(first.Watermark, Is.EqualTo(100));

        await PostgresSetUp.Server.RestartAsync(); // the pool still holds connections to the old server process

        var second = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, epoch, 101, 200));
        var again = await IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, epoch, 1, 100));

        Assert.That((second.Outcome, second.Inserted, second.Watermark), Is.EqualTo((IngestOutcome.Applied, 100, (long?)200)));
        Assert.That((again.Inserted, again.Watermark), Is.EqualTo((0, (long?)200)));
        Assert.That(await CountAsync("SELECT count(*) FROM events"), Is.EqualTo(200));
        Assert.That(await CountAsync("SELECT count(DISTINCT seq) FROM events"), Is.EqualTo(200));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(200));
        var retries = Logged.Where(l => l.Contains(" 4005:", StringComparison.Ordinal)).ToList();
        foreach (var line in retries) await TestContext.Out.WriteLineAsync(line);
        Assert.That(retries, Is.Not.Empty, "the first batch after the restart should have met a dead pooled connection and retried");
        var (healthy, detail) = await Database.CheckHealthAsync();
        Assert.That(healthy, Is.True, detail);
    }

    [Test]
    public async Task An_unreachable_database_is_reported_as_a_transient_store_error_after_the_retries()
    {
        int port;
        using (var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }
        await using var nowhere = Kezekshi.Server.Sync.Store.CentreDatabase.Create($"Host=127.0.0.1;Port={port};Username=kezekshi;Database=none;Timeout=2");
        var ingestor = new EventIngestor(nowhere);

        var error = Assert.ThrowsAsync<Kezekshi.Server.Sync.Store.CentreStoreException>(() =>
            ingestor.IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, Guid.NewGuid(), 1, 10), CancellationToken.None));

        Assert.That(error!.IsTransient, Is.True);
        Assert.That(error.Message, Does.Contain($"127.0.0.1:{port}"));
    }
}
