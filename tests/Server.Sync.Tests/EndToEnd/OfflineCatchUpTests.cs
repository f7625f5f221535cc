using System.Diagnostics;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;
using Kezekshi.Mqtt;
using Kezekshi.Mqtt.Tests.Support;
using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Server.Sync.Tests.EndToEnd;

/// <summary>
/// A school that was offline for 30 school days reconnects: its outbox goes through a real mosquitto with TLS
/// and per-school certificates to a centre worker that applies it to a real PostgreSQL and answers with
/// watermarks. The broker is killed and restarted in the middle. Nothing may be lost or doubled.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable]
public class OfflineCatchUpTests : CentreFixture
{
    private const int Pupils = 1200;
    private const int SchoolDays = 30;

    private static void FillOutbox(EdgeDatabase database, int pupils, int days)
    {
        using var connection = database.Connect();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO outbox(event_type, schema_version, payload, created_at) VALUES ('passage', 1, $p, $t)";
        var payload = command.Parameters.Add("$p", Microsoft.Data.Sqlite.SqliteType.Text);
        var at = command.Parameters.Add("$t", Microsoft.Data.Sqlite.SqliteType.Text);
        var start = new DateTimeOffset(2026, 10, 1, 7, 30, 0, TimeSpan.FromHours(5));
        for (int day = 0; day < days; day++)
        {
            for (int pupil = 1; pupil <= pupils; pupil++)
            {
                foreach (var (direction, hour) in new[] { ("entry", 0), ("exit", 6) })
                {
                    var decided = start.AddDays(day).AddHours(hour).AddSeconds(pupil);
                    string time = decided.ToString("O");
                    payload.Value = $"{{\"schemaVersion\":1,\"uid\":\"{Guid.CreateVersion7(decided):N}\",\"gate\":\"gate1\",\"direction\":\"{direction}\",\"holderKind\":\"pupil\",\"holderId\":{pupil},\"decision\":\"granted\",\"reason\":\"granted\",\"outcome\":\"passed\",\"decidedAt\":\"{time}\",\"completedAt\":\"{time}\",\"manualBy\":null}}";
                    at.Value = time;
                    command.ExecuteNonQuery();
                }
            }
        }
        transaction.Commit();
    }

    [Test]
    public async Task Thirty_school_days_of_passages_arrive_once_through_a_broker_restart()
    {
        using var dir = new TempDir();
        var edgeDatabase = EdgeDatabase.Open(Path.Combine(dir.Path, "edge.db"));
        FillOutbox(edgeDatabase, Pupils, SchoolDays);
        int expected = Pupils * SchoolDays * 2;

        using var certificates = TestCertificates.Create(SchoolA, "centre-1");
        await using var broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions { Certificates = certificates, Persistence = true, AllowAnonymous = false });
        MqttClientOptions ClientOptions(string name) => new()
        {
            Host = "127.0.0.1", Port = broker.Port, ClientId = name, CaFile = certificates.CaFile,
            CertFile = certificates.CertFile(name), KeyFile = certificates.KeyFile(name),
            SessionExpiry = TimeSpan.FromHours(1), ReconnectDelayMin = TimeSpan.FromSeconds(1), ReconnectDelayMax = TimeSpan.FromSeconds(2),
        };

        await using var centreClient = new MqttClient(ClientOptions("centre-1"));
        await centreClient.ConnectAsync();
        var worker = new MqttIngestWorker(centreClient, Ingestor, NullLogger<MqttIngestWorker>.Instance);
        using var stop = new CancellationTokenSource();
        var centre = Task.Run(() => worker.RunAsync(stop.Token));

        using var loggers = LoggerFactory.Create(_ => { });
        await using var edge = new MqttSyncConnection(ClientOptions(SchoolA), "almaty", SchoolA, loggers);
        var batcher = new OutboxBatcher(edgeDatabase, SchoolA, "almaty");
        var publisher = new OutboxPublisher(batcher, edge, "almaty", SchoolA, NullLogger.Instance)
        {
            IdlePoll = TimeSpan.FromMilliseconds(20),
            ResendAfter = TimeSpan.FromSeconds(3),
        };
        var clock = Stopwatch.StartNew();
        await edge.ConnectAsync(CancellationToken.None);
        var session = new SyncSession(edge, batcher, publisher, new DownlinkApplier(edgeDatabase, [new RosterHandlers()], SchoolA, "almaty", NullLogger.Instance),
            "almaty", SchoolA, NullLogger.Instance);
        var sending = Task.Run(() => session.RunAsync(stop.Token));

        // Half-way through, the broker dies and comes back.
        await Until(() => publisher.Watermark >= expected / 2, TimeSpan.FromSeconds(120));
        await broker.KillAsync();
        await Task.Delay(500);
        await broker.RestartAsync();

        await Until(() =>
        {
            TestContext.Progress.WriteLine($"watermark {publisher.Watermark}, events sent {publisher.EventsSent}, batches applied {worker.BatchesApplied}, edge connected {edge.IsConnected}");
            return batcher.Backlog() == 0;
        }, TimeSpan.FromSeconds(120));
        clock.Stop();
        await stop.CancelAsync();
        await Task.WhenAll(centre, sending);

        Assert.That(await CountAsync("SELECT COUNT(*) FROM events WHERE school = 'sch-0001'"), Is.EqualTo(expected), "every event once");
        Assert.That(await CountAsync("SELECT COUNT(DISTINCT seq) FROM events WHERE school = 'sch-0001'"), Is.EqualTo(expected));
        Assert.That(await CountAsync("SELECT COUNT(*) FROM passages"), Is.EqualTo(expected), "every passage projected once");
        Assert.That(await CountAsync("SELECT MAX(watermark) FROM school_streams WHERE school = 'sch-0001'"), Is.EqualTo(expected));
        Assert.That(await CountAsync("SELECT COUNT(*) FROM dead_letters"), Is.Zero);
        Assert.That(batcher.ReadState().Watermark, Is.EqualTo(expected));
        await TestContext.Out.WriteLineAsync($"{expected} events caught up in {clock.Elapsed.TotalSeconds:F1} s ({expected / clock.Elapsed.TotalSeconds:F0} events/s end to end, broker killed once)");
    }

    private static async Task Until(Func<bool> condition, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"not reached within {limit.TotalSeconds} s");
            await Task.Delay(1000);
        }
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kezekshi-sync-" + Guid.NewGuid().ToString("N")[..8]);
        public TempDir() => Directory.CreateDirectory(Path);
        public void Dispose()
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }
    }
}
