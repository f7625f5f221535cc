using System.Diagnostics;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;
using Kezekshi.Mqtt;
using Kezekshi.Mqtt.Tests.Support;
using Kezekshi.Server.Sync.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Server.Sync.Tests.EndToEnd;

/// <summary>
/// Faults with real processes during a catch-up: the centre service (its own executable) is killed with SIGKILL in the
/// middle of batches and started again, and PostgreSQL is restarted under it. The school's events still arrive exactly
/// once, and the edge's outbox empties only when the centre has them.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable]
public class CentreCrashTests : CentreFixture
{
    private const int Events = 24_000;

    private Process StartCentre(MosquittoBroker broker, TestCertificates certificates)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "kezekshi-centre-sync.dll");
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add("http://127.0.0.1:0");
        info.Environment["ConnectionStrings__Centre"] = ConnectionString;
        info.Environment["Centre__Mqtt__Brokers__0"] = $"127.0.0.1:{broker.Port}";
        info.Environment["Centre__Mqtt__ClientId"] = "centre-1";
        info.Environment["Centre__Mqtt__CaFile"] = certificates.CaFile;
        info.Environment["Centre__Mqtt__CertFile"] = certificates.CertFile("centre-1");
        info.Environment["Centre__Mqtt__KeyFile"] = certificates.KeyFile("centre-1");
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) TestContext.Progress.WriteLine("centre: " + e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) TestContext.Progress.WriteLine("centre: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    [Test]
    public async Task A_centre_killed_mid_batch_and_a_PostgreSQL_restart_lose_nothing_and_double_nothing()
    {
        AllowErrors = true; // the centre's own log is in its process; retries are expected
        string dir = Path.Combine(Path.GetTempPath(), "kezekshi-crash-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        Process? centre = null;
        try
        {
            var edgeDatabase = EdgeDatabase.Open(Path.Combine(dir, "edge.db"));
            using (var connection = edgeDatabase.Connect())
            using (var transaction = connection.BeginTransaction())
            using (var insert = connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = "INSERT INTO outbox(event_type, schema_version, payload, created_at) VALUES ('passage', 1, $p, '2026-10-01T07:30:00+05:00')";
                var payload = insert.Parameters.Add("$p", SqliteType.Text);
                for (int i = 0; i < Events; i++)
                {
                    payload.Value = $"{{\"schemaVersion\":1,\"uid\":\"{Guid.NewGuid():N}\",\"gate\":\"gate1\",\"direction\":\"entry\",\"holderKind\":\"pupil\",\"holderId\":{i % 1200 + 1},\"decision\":\"granted\",\"reason\":\"granted\",\"outcome\":\"passed\",\"decidedAt\":\"2026-10-01T07:30:00+05:00\",\"completedAt\":null,\"manualBy\":null}}";
                    insert.ExecuteNonQuery();
                }
                transaction.Commit();
            }

            using var certificates = TestCertificates.Create(SchoolA, "centre-1");
            await using var broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions { Certificates = certificates, Persistence = true, AllowAnonymous = false });
            centre = StartCentre(broker, certificates);

            using var loggers = LoggerFactory.Create(_ => { });
            await using var edge = new MqttSyncConnection(new MqttClientOptions
            {
                Host = "127.0.0.1", Port = broker.Port, ClientId = SchoolA, CaFile = certificates.CaFile,
                CertFile = certificates.CertFile(SchoolA), KeyFile = certificates.KeyFile(SchoolA),
                SessionExpiry = TimeSpan.FromHours(1), ReconnectDelayMin = TimeSpan.FromSeconds(1), ReconnectDelayMax = TimeSpan.FromSeconds(2),
            }, "almaty", SchoolA, loggers);
            var batcher = new OutboxBatcher(edgeDatabase, SchoolA, "almaty");
            var publisher = new OutboxPublisher(batcher, edge, "almaty", SchoolA, NullLogger.Instance)
            {
                IdlePoll = TimeSpan.FromMilliseconds(20), ResendAfter = TimeSpan.FromSeconds(3),
            };
            var session = new SyncSession(edge, batcher, publisher, new DownlinkApplier(edgeDatabase, [new RosterHandlers()], SchoolA, "almaty", NullLogger.Instance),
                "almaty", SchoolA, NullLogger.Instance);
            using var stop = new CancellationTokenSource();
            await edge.ConnectAsync(CancellationToken.None);
            var running = Task.Run(() => session.RunAsync(stop.Token));

            // 1. SIGKILL the centre while batches are arriving, start it again.
            await Until(() => publisher.Watermark >= Events / 4, TimeSpan.FromSeconds(180), "a quarter acknowledged");
            centre.Kill(entireProcessTree: true);
            await centre.WaitForExitAsync();
            long atKill = publisher.Watermark;
            await TestContext.Progress.WriteLineAsync($"centre killed at watermark {atKill}");
            await Task.Delay(1000);
            centre = StartCentre(broker, certificates);

            // 2. Restart PostgreSQL under the running centre.
            await Until(() => publisher.Watermark >= Events / 2 && publisher.Watermark > atKill, TimeSpan.FromSeconds(180), "half acknowledged after the restart");
            await PostgresSetUp.Server.RestartAsync();
            await TestContext.Progress.WriteLineAsync($"PostgreSQL restarted at watermark {publisher.Watermark}");

            await Until(() => batcher.Backlog() == 0, TimeSpan.FromSeconds(240), "the outbox empty");
            await stop.CancelAsync();
            await running;

            Assert.That(await CountAsync($"SELECT COUNT(*) FROM events WHERE school = '{SchoolA}'"), Is.EqualTo(Events), "every event once");
            Assert.That(await CountAsync($"SELECT COUNT(DISTINCT seq) FROM events WHERE school = '{SchoolA}'"), Is.EqualTo(Events));
            Assert.That(await CountAsync("SELECT COUNT(*) FROM passages"), Is.EqualTo(Events), "every passage projected once");
            Assert.That(await CountAsync($"SELECT MAX(watermark) FROM school_streams WHERE school = '{SchoolA}'"), Is.EqualTo(Events));
            Assert.That(await CountAsync("SELECT COUNT(*) FROM dead_letters"), Is.Zero);
        }
        finally
        {
            if (centre is { HasExited: false }) { centre.Kill(entireProcessTree: true); await centre.WaitForExitAsync(); }
            centre?.Dispose();
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task Until(Func<bool> condition, TimeSpan limit, string what)
    {
        var until = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"not reached within {limit.TotalSeconds} s: {what}");
            await Task.Delay(100);
        }
    }
}
