using System.Diagnostics;
using System.Globalization;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;
using Kezekshi.Mqtt;
using Kezekshi.Server.Sync.Downlink;
using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Store;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Benchmarks;

/// <summary>
/// <c>sync</c>: catch-up throughput edge → broker → centre → PostgreSQL in events per second, side by side with the raw
/// broker rate for the same messages at QoS 1 (mosquitto_pub → mosquitto_sub), plus the end-to-end latency of single
/// passages while online. Run by tools/bench-sync.sh, which starts the broker and a PostgreSQL cluster.
/// </summary>
internal static class SyncCatchUpBenchmark
{
    private const string School = "demo-school";
    private const string Region = "almaty";

    public static async Task<int> RunAsync(string[] args)
    {
        string Arg(string name, string fallback) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback; }
        int events = int.Parse(Arg("--events", "72000"), CultureInfo.InvariantCulture);
        int singles = int.Parse(Arg("--singles", "200"), CultureInfo.InvariantCulture);
        string broker = Arg("--broker", "127.0.0.1:18883");
        string pki = Arg("--pki", Path.Combine(".data", "demo-pki"));
        string pg = Arg("--pg", "");
        if (pg.Length == 0)
        {
            Console.Error.WriteLine("--pg \"Host=...;Port=...;Username=...;Database=...\" is required (tools/bench-sync.sh passes it)");
            return 2;
        }
        // The morning peak variant: many schools with one passage per message, centre ingest only (MorningPeakBenchmark).
        if (Array.IndexOf(args, "--schools") >= 0)
            return await MorningPeakBenchmark.RunAsync(pg, int.Parse(Arg("--schools", "200"), CultureInfo.InvariantCulture),
                int.Parse(Arg("--events-per-school", "50"), CultureInfo.InvariantCulture));
        int colon = broker.LastIndexOf(':');
        string host = broker[..colon];
        int port = int.Parse(broker[(colon + 1)..], CultureInfo.InvariantCulture);
        string work = Directory.CreateTempSubdirectory("kz-bench-sync-").FullName;
        try
        {
            // The events: 30 school days of passages (as the offline test), made into the very batches the edge sends.
            var edgeDatabase = EdgeDatabase.Open(Path.Combine(work, "edge.db"));
            FillOutbox(edgeDatabase, events);
            var batcher = new OutboxBatcher(edgeDatabase, School, Region);
            var (epoch, _) = batcher.ReadState();
            var batches = new List<OutboxBatch>();
            for (long after = 0; batcher.Next(after, epoch, DateTimeOffset.UtcNow) is { } batch; after = batch.LastSeq) batches.Add(batch);
            double averageBytes = batches.Average(b => b.Payload.Length);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{events:N0} passage events in {batches.Count} messages of ~{averageBytes / 1024:F0} KiB ({averageBytes / (events / (double)batches.Count):F0} bytes per event)"));

            // 1. Raw broker rate: the same messages through mosquitto_pub -> mosquitto_sub at QoS 1, same TLS and certificates.
            string lines = Path.Combine(work, "batches.txt");
            await using (var file = File.CreateText(lines))
                foreach (var batch in batches) await file.WriteLineAsync(System.Text.Encoding.UTF8.GetString(batch.Payload.Span));
            var raw = await RawBrokerAsync(host, port, pki, lines, batches.Count);
            double rawRate = events / raw.TotalSeconds;

            // 2. Ours: edge session -> broker -> centre worker -> PostgreSQL, until the edge's outbox is acknowledged.
            await using var centreDatabase = await CentreDatabase.OpenAsync(pg);
            await centreDatabase.MigrateAsync();
            await centreDatabase.RegisterSchoolAsync(School, Region, "Benchmark school");
            // Stage timings of the catch-up only (taken before the single passages): where the time goes, edge and centre.
            var centreTimes = new StageTimings(EventIngestor.TimingStages);
            var edgeTimes = new StageTimings(OutboxBatcher.TimingStages);
            var ingestor = new EventIngestor(centreDatabase) { Timings = centreTimes };
            MqttClientOptions Client(string id) => new()
            {
                Host = host, Port = port, ClientId = id, CaFile = Path.Combine(pki, "ca.crt"),
                CertFile = Path.Combine(pki, id + ".crt"), KeyFile = Path.Combine(pki, id + ".key"),
                ReconnectDelayMin = TimeSpan.FromSeconds(1), ReconnectDelayMax = TimeSpan.FromSeconds(2),
            };
            await using var centreClient = new MqttClient(Client("centre-1"));
            await centreClient.ConnectAsync();
            var sessions = new SchoolSessions(new DownlinkFeed(centreDatabase), ingestor,
                async (topic, payload, ct) => (await centreClient.PublishAsync(topic, payload, 1, false, ct)).IsSuccess, NullLogger<SchoolSessions>.Instance);
            var worker = new MqttIngestWorker(centreClient, ingestor, NullLogger<MqttIngestWorker>.Instance, sessions: sessions);
            using var stop = new CancellationTokenSource();
            var centre = Task.Run(() => worker.RunAsync(stop.Token));
            await Task.Delay(500); // the worker's subscription

            using var loggers = Microsoft.Extensions.Logging.LoggerFactory.Create(_ => { });

            // Warm-up: a centre and an edge run for months, so the catch-up is measured with their code compiled
            // (tiered JIT) as it is then. A first, smaller catch-up from another edge database (its own epoch) runs
            // the same path unmeasured.
            var warmUpDatabase = EdgeDatabase.Open(Path.Combine(work, "warm-up.db"));
            int warmUpEvents = Math.Min(events, 96_000);
            FillOutbox(warmUpDatabase, warmUpEvents);
            ingestor.Timings = null;
            await using (var warmUp = await StartEdgeAsync(warmUpDatabase, null))
                await warmUp.CatchUpAsync();
            ingestor.Timings = centreTimes;

            await using (var connection = new Npgsql.NpgsqlConnection(pg))
            {
                await connection.OpenAsync();
                await using var backend = new Npgsql.NpgsqlCommand("SELECT pg_backend_pid()", connection);
                int backendPid = (int)(await backend.ExecuteScalarAsync())!;
                if (OperatingSystem.IsLinux())
                {
                    string stat = await File.ReadAllTextAsync($"/proc/{backendPid}/stat");
                    CpuSeconds.Postmaster = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                }
            }
            string brokerPidFile = Path.Combine(".data", "demo-broker", "mosquitto.pid");
            if (File.Exists(brokerPidFile) && int.TryParse((await File.ReadAllTextAsync(brokerPidFile)).Trim(), CultureInfo.InvariantCulture, out int brokerPid))
                CpuSeconds.Broker = brokerPid;
            var cpuBefore = CpuSeconds.Sample();
            var clock = Stopwatch.StartNew();
            await using var edge = await StartEdgeAsync(edgeDatabase, edgeTimes);
            await edge.CatchUpAsync();
            var ours = clock.Elapsed;
            var cpu = CpuSeconds.Sample().Minus(cpuBefore);
            double oursRate = events / ours.TotalSeconds;
            string stages = edgeTimes.ToTable("catch-up stage (batches overlap: not additive)") + centreTimes.ToTable("centre stage");
            var publisher = edge.Publisher;

            async Task<EdgeRun> StartEdgeAsync(EdgeDatabase database, StageTimings? timings)
            {
                var connection = new MqttSyncConnection(Client(School), Region, School, loggers);
                var outbox = new OutboxBatcher(database, School, Region) { Timings = timings };
                var publisher = new OutboxPublisher(outbox, connection, Region, School, NullLogger.Instance) { IdlePoll = TimeSpan.FromMilliseconds(5) };
                var session = new SyncSession(connection, outbox, publisher, new DownlinkApplier(database, [new RosterHandlers()], School, Region, NullLogger.Instance),
                    Region, School, NullLogger.Instance);
                await connection.ConnectAsync(CancellationToken.None);
                var stopRun = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                return new EdgeRun(connection, outbox, publisher, Task.Run(() => session.RunAsync(stopRun.Token)), stopRun);
            }

            // 3. Online latency of single passages: written to the outbox as the gate does, acknowledged by the centre's watermark.
            var latencies = new List<double>();
            for (int i = 0; i < singles; i++)
            {
                long target = AppendOne(edgeDatabase, i);
                var sw = Stopwatch.StartNew();
                while (publisher.Watermark < target) await Task.Delay(1);
                latencies.Add(sw.Elapsed.TotalMilliseconds);
                await Task.Delay(20);
            }
            await stop.CancelAsync();
            await centre;
            latencies.Sort();

            long stored;
            await using (var connection = new Npgsql.NpgsqlConnection(pg))
            {
                await connection.OpenAsync();
                await using var count = new Npgsql.NpgsqlCommand($"SELECT COUNT(*) FROM events WHERE school = '{School}' AND epoch = '{edge.Outbox.ReadState().Epoch}'", connection);
                stored = (long)(await count.ExecuteScalarAsync())!;
            }

            Console.WriteLine();
            Console.WriteLine("| path (same messages, QoS 1, TLS, 127.0.0.1)                  | events | seconds | events/s | vs raw |");
            Console.WriteLine("|---------------------------------------------------------------|-------:|--------:|---------:|-------:|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| raw broker: mosquitto_pub -> mosquitto_sub                    | {events,6} | {raw.TotalSeconds,7:F2} | {rawRate,8:F0} | 1.00x |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| Kezekshi: edge outbox -> broker -> centre -> PostgreSQL -> ack | {events,6} | {ours.TotalSeconds,7:F2} | {oursRate,8:F0} | {oursRate / rawRate:F2}x |"));
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"single passage online, outbox row -> centre watermark back at the edge (n={latencies.Count}): p50 {Percentile(latencies, 50):F1} ms, p99 {Percentile(latencies, 99):F1} ms, max {latencies[^1]:F1} ms"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"events stored at the centre: {stored} (expected {events + singles})"));
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"where the catch-up's {ours.TotalSeconds:F2} s went (wall time per stage, summed over batches; stages of different batches run at the same time):"));
            Console.Write(stages);
            Console.WriteLine();
            Console.WriteLine("CPU time spent during the catch-up, by process (all cores; the machine has " + Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture) + "):");
            Console.WriteLine("| process | CPU s | µs per event |");
            Console.WriteLine("|---|---:|---:|");
            foreach (var (name, seconds) in cpu.OrderByDescending(c => c.Value))
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {seconds:F2} | {seconds * 1e6 / events:F1} |"));
            return stored == events + singles ? 0 : 1;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>CPU seconds used so far by this process (edge and centre), PostgreSQL and mosquitto (Linux: /proc; elsewhere empty).</summary>
    private sealed class CpuSeconds : Dictionary<string, double>
    {
        /// <summary>The bench's own PostgreSQL (its postmaster and children) and broker only: other clusters and brokers on the machine are not counted.</summary>
        public static int Postmaster, Broker;

        public static CpuSeconds Sample()
        {
            var sample = new CpuSeconds();
            if (!OperatingSystem.IsLinux()) return sample;
            double tick = 100.0; // USER_HZ on Linux
            foreach (string dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
                string stat;
                try { stat = File.ReadAllText(Path.Combine(dir, "stat")); } catch (IOException) { continue; } catch (UnauthorizedAccessException) { continue; }
                int open = stat.IndexOf('('), close = stat.LastIndexOf(')');
                if (open < 0 || close < open) continue;
                string comm = stat[(open + 1)..close];
                var fields = stat[(close + 2)..].Split(' ');
                int parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
                string? name = pid == Environment.ProcessId ? "edge + centre (.NET, this process)"
                    : comm == "postgres" && (pid == Postmaster || parent == Postmaster) ? "PostgreSQL (postmaster and all its processes)"
                    : pid == Broker ? "mosquitto (broker)"
                    : null;
                if (name is null) continue;
                double seconds = (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / tick;
                sample[name] = sample.GetValueOrDefault(name) + seconds;
            }
            return sample;
        }

        public CpuSeconds Minus(CpuSeconds before)
        {
            var difference = new CpuSeconds();
            foreach (var (name, seconds) in this) difference[name] = seconds - before.GetValueOrDefault(name);
            return difference;
        }
    }

    /// <summary>One edge's sync session running against the centre.</summary>
    private sealed record EdgeRun(MqttSyncConnection Connection, OutboxBatcher Outbox, OutboxPublisher Publisher, Task Running, CancellationTokenSource Stop)
        : IAsyncDisposable
    {
        /// <summary>Waits until the centre's watermark covers the last event (not by counting the outbox: a COUNT over
        /// the backlog every few milliseconds took a fifth of this process's CPU away from the edge and the centre).</summary>
        public async Task CatchUpAsync()
        {
            long lastSeq = Outbox.Range().Last;
            while (Publisher.Watermark < lastSeq) await Task.Delay(5);
        }

        public async ValueTask DisposeAsync()
        {
            await Stop.CancelAsync();
            try { await Running; } catch (OperationCanceledException) { }
            await Connection.DisposeAsync();
            Stop.Dispose();
        }
    }

    private static async Task<TimeSpan> RawBrokerAsync(string host, int port, string pki, string lines, int messages)
    {
        string[] tls = ["--cafile", Path.Combine(pki, "ca.crt")];
        var sub = Start("mosquitto_sub", ["-h", host, "-p", port.ToString(CultureInfo.InvariantCulture), .. tls,
            "--cert", Path.Combine(pki, "centre-1.crt"), "--key", Path.Combine(pki, "centre-1.key"), "-i", "centre-1", "-q", "1",
            "-t", $"kz/v1/{Region}/{School}/up/events", "-C", messages.ToString(CultureInfo.InvariantCulture)]);
        await Task.Delay(1000); // subscribed
        var clock = Stopwatch.StartNew();
        var pub = Start("mosquitto_pub", ["-h", host, "-p", port.ToString(CultureInfo.InvariantCulture), .. tls,
            "--cert", Path.Combine(pki, School + ".crt"), "--key", Path.Combine(pki, School + ".key"), "-i", School, "-q", "1",
            "-t", $"kz/v1/{Region}/{School}/up/events", "-l"], lines);
        await sub.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        var elapsed = clock.Elapsed;
        await pub.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        if (sub.ExitCode != 0 || pub.ExitCode != 0) throw new InvalidOperationException($"mosquitto_sub exited {sub.ExitCode}, mosquitto_pub exited {pub.ExitCode}");
        return elapsed;
    }

    private static Process Start(string file, string[] arguments, string? stdinFile = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardInput = stdinFile is not null, UseShellExecute = false };
        foreach (string a in arguments) info.ArgumentList.Add(a);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        if (stdinFile is not null)
            _ = Task.Run(async () =>
            {
                await using (var input = File.OpenRead(stdinFile)) await input.CopyToAsync(process.StandardInput.BaseStream);
                process.StandardInput.Close();
            });
        return process;
    }

    private static void FillOutbox(EdgeDatabase database, int count)
    {
        using var connection = database.Connect();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO outbox(event_type, schema_version, payload, created_at) VALUES ('passage', 1, $p, $t)";
        var payload = command.Parameters.Add("$p", Microsoft.Data.Sqlite.SqliteType.Text);
        var at = command.Parameters.Add("$t", Microsoft.Data.Sqlite.SqliteType.Text);
        var start = new DateTimeOffset(2026, 10, 1, 7, 30, 0, TimeSpan.FromHours(5));
        for (int i = 0; i < count; i++)
        {
            var decided = start.AddDays(i / 2400).AddSeconds(i % 2400 * 7);
            string time = decided.ToString("O", CultureInfo.InvariantCulture);
            payload.Value = Passage(decided, i % 1200 + 1, i % 2 == 0 ? "entry" : "exit");
            at.Value = time;
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    private static long AppendOne(EdgeDatabase database, int i)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        var now = DateTimeOffset.UtcNow;
        command.CommandText = "INSERT INTO outbox(event_type, schema_version, payload, created_at) VALUES ('passage', 1, $p, $t) RETURNING seq";
        command.Parameters.AddWithValue("$p", Passage(now, i % 1200 + 1, "entry"));
        command.Parameters.AddWithValue("$t", now.ToString("O", CultureInfo.InvariantCulture));
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static string Passage(DateTimeOffset decided, int pupil, string direction)
    {
        string time = decided.ToString("O", CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"schemaVersion\":1,\"uid\":\"{Guid.CreateVersion7(decided):N}\",\"gate\":\"gate1\",\"direction\":\"{direction}\",\"holderKind\":\"pupil\",\"holderId\":{pupil},\"decision\":\"granted\",\"reason\":\"granted\",\"outcome\":\"passed\",\"decidedAt\":\"{time}\",\"completedAt\":\"{time}\",\"manualBy\":null}}");
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
}
