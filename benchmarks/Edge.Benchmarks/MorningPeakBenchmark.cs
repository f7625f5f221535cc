using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Store;

namespace Kezekshi.Edge.Benchmarks;

/// <summary>
/// <c>sync --schools N --events-per-school M</c>: the morning peak at the centre (docs/scaling.md). N schools each send M
/// messages of one passage, interleaved as they arrive when every school's first pupils come in; the centre's ingest
/// applies them against PostgreSQL (fsync on) once with one transaction per message (what grouping by one school gives
/// when each school has one message waiting) and once with the worker's multi-school groups
/// (<see cref="EventIngestor.IngestManyAsync"/>), side by side in one run. The broker is left out: the demo PKI has one
/// school's certificate, and what is measured here is the centre's commit rate.
/// </summary>
internal static class MorningPeakBenchmark
{
    private const string Region = "almaty";

    /// <summary>Groups in flight at once and their size: the worker's defaults (<see cref="MqttIngestWorker"/>).</summary>
    private const int Concurrency = 3, GroupSize = 64;

    public static async Task<int> RunAsync(string pg, int schools, int eventsPerSchool)
    {
        await using var database = await CentreDatabase.OpenAsync(pg);
        await database.MigrateAsync();
        for (int s = 1; s <= schools; s++) await database.RegisterSchoolAsync(SchoolId(s), Region, $"Peak school {s}");
        var ingestor = new EventIngestor(database);
        int events = schools * eventsPerSchool;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"morning peak: {schools} schools x {eventsPerSchool} messages of 1 passage = {events:N0} messages, arriving interleaved; {Concurrency} groups in flight"));

        // Warm-up (JIT, connections), its own epochs: not measured.
        await RunVariantAsync(ingestor, Messages(schools, Math.Min(eventsPerSchool, 5)), grouped: true);
        await RunVariantAsync(ingestor, Messages(schools, Math.Min(eventsPerSchool, 5)), grouped: false);

        var rows = new List<string>();
        foreach (bool grouped in new[] { false, true })
        {
            var messages = Messages(schools, eventsPerSchool);
            var cpuBefore = ProcessCpu.Sample(pg);
            var clock = Stopwatch.StartNew();
            int transactions = await RunVariantAsync(ingestor, messages, grouped);
            var elapsed = clock.Elapsed;
            var cpu = ProcessCpu.Sample(pg).Minus(cpuBefore);
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {(grouped ? "multi-school groups (up to 64 messages, 32 streams per transaction)" : "one transaction per message"),-68} | {events,7} | {elapsed.TotalSeconds,7:F2} | {events / elapsed.TotalSeconds,8:F0} | {transactions / elapsed.TotalSeconds,9:F0} | {cpu.Postgres * 1e6 / events,8:F1} | {cpu.Self * 1e6 / events,8:F1} |"));
        }
        Console.WriteLine();
        Console.WriteLine("| centre ingest, PostgreSQL fsync on                                   |  events | seconds | events/s | commits/s | PG µs/ev | .NET µs/ev |");
        Console.WriteLine("|----------------------------------------------------------------------|--------:|--------:|---------:|----------:|---------:|-----------:|");
        foreach (string row in rows) Console.WriteLine(row);
        return 0;
    }

    private static string SchoolId(int s) => string.Create(CultureInfo.InvariantCulture, $"peak-{s:00000}");

    /// <summary>Applies the messages in arrival order with <see cref="Concurrency"/> groups in flight; returns the transactions used.</summary>
    private static async Task<int> RunVariantAsync(EventIngestor ingestor, List<(string Topic, ReadOnlyMemory<byte> Payload)> messages, bool grouped)
    {
        var groups = grouped ? messages.Chunk(GroupSize).ToList() : messages.Select(m => new[] { m }).ToList();
        int next = -1, transactions = 0;
        async Task Drain()
        {
            for (int i; (i = Interlocked.Increment(ref next)) < groups.Count;)
            {
                var results = await ingestor.IngestManyAsync(groups[i], CancellationToken.None);
                if (results.Any(r => r is null || r.Outcome != IngestOutcome.Applied)) throw new InvalidOperationException("a peak message was not applied");
                int streams = groups[i].Select(m => m.Topic).Distinct().Count();
                Interlocked.Add(ref transactions, (streams + EventIngestor.MaxStreamsPerTransaction - 1) / EventIngestor.MaxStreamsPerTransaction);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(Drain)));
        return transactions;
    }

    /// <summary>Every school's message k before any school's message k + 1: a new epoch per school and call, seqs from 1.</summary>
    private static List<(string Topic, ReadOnlyMemory<byte> Payload)> Messages(int schools, int perSchool)
    {
        var epochs = Enumerable.Range(0, schools).Select(_ => Guid.NewGuid()).ToArray();
        var messages = new List<(string, ReadOnlyMemory<byte>)>(schools * perSchool);
        var start = new DateTimeOffset(2026, 11, 23, 7, 30, 0, TimeSpan.FromHours(5));
        for (int k = 1; k <= perSchool; k++)
            for (int s = 1; s <= schools; s++)
                messages.Add(($"kz/v1/{Region}/{SchoolId(s)}/up/events", Envelope(SchoolId(s), epochs[s - 1], k, start.AddSeconds(k * 3 + s % 60))));
        return messages;
    }

    private static byte[] Envelope(string school, Guid epoch, long seq, DateTimeOffset decided)
    {
        var buffer = new ArrayBufferWriter<byte>(768);
        using (var json = new Utf8JsonWriter(buffer))
        {
            string time = decided.ToString("O", CultureInfo.InvariantCulture);
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 1);
            json.WriteString("type", "events");
            json.WriteString("school", school);
            json.WriteString("region", Region);
            json.WriteString("msgId", Guid.CreateVersion7(decided).ToString("N"));
            json.WriteString("sentAt", time);
            json.WriteString("epoch", epoch.ToString("D"));
            json.WriteNumber("firstSeq", seq);
            json.WriteNumber("lastSeq", seq);
            json.WriteStartArray("events");
            json.WriteStartObject();
            json.WriteNumber("seq", seq);
            json.WriteString("type", "passage");
            json.WriteNumber("schemaVersion", 1);
            json.WriteString("createdAt", time);
            json.WritePropertyName("payload");
            json.WriteRawValue(string.Create(CultureInfo.InvariantCulture,
                $"{{\"schemaVersion\":1,\"uid\":\"{Guid.CreateVersion7(decided):N}\",\"gate\":\"gate1\",\"direction\":\"entry\",\"holderKind\":\"pupil\",\"holderId\":{seq % 1200 + 1},\"decision\":\"granted\",\"reason\":\"granted\",\"outcome\":\"passed\",\"decidedAt\":\"{time}\",\"completedAt\":\"{time}\",\"manualBy\":null}}"));
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>CPU seconds of this process and of the benchmark's PostgreSQL cluster (its postmaster's children), from /proc.</summary>
    private readonly record struct ProcessCpu(double Self, double Postgres)
    {
        private static int s_postmaster;

        public static ProcessCpu Sample(string pg)
        {
            if (!OperatingSystem.IsLinux()) return default;
            if (s_postmaster == 0)
            {
                using var connection = new Npgsql.NpgsqlConnection(pg);
                connection.Open();
                using var backend = new Npgsql.NpgsqlCommand("SELECT pg_backend_pid()", connection);
                s_postmaster = Parent((int)backend.ExecuteScalar()!);
            }
            double self = 0, postgres = 0;
            foreach (string dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
                if (Stat(pid) is not { } fields) continue;
                double seconds = (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
                if (pid == Environment.ProcessId) self += seconds;
                else if (pid == s_postmaster || fields[1] == s_postmaster.ToString(CultureInfo.InvariantCulture)) postgres += seconds;
            }
            return new ProcessCpu(self, postgres);
        }

        public ProcessCpu Minus(ProcessCpu before) => new(Self - before.Self, Postgres - before.Postgres);

        private static int Parent(int pid) => Stat(pid) is { } fields ? int.Parse(fields[1], CultureInfo.InvariantCulture) : 0;

        /// <summary>The fields of /proc/pid/stat after the command name (state, ppid, ...), or null when the process is gone.</summary>
        private static string[]? Stat(int pid)
        {
            try
            {
                string stat = File.ReadAllText($"/proc/{pid}/stat");
                return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        }
    }
}
