using System.Diagnostics;
using System.Globalization;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Store;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Benchmarks;

/// <summary>
/// The canteen till on a real SQLite file with synchronous=FULL: (1) the latency of one charge (ledger entries and outbox
/// event committed together, fsync included); (2) a queue of 300 pupils at one till, each identified by card and charged,
/// comparing the software's time per pupil with the seconds a person needs at the counter; (3) the same with three
/// tills at once, as a big school runs them, to show the single writer is not the bottleneck.
/// </summary>
public static class TillBenchmark
{
    public static int Run(string[] args)
    {
        int charges = ArgValue(args, "--charges", 2000);
        int queue = ArgValue(args, "--queue", 300);
        double humanSeconds = ArgValue(args, "--human-seconds", 8);
        string root = Path.GetFullPath(ArgString(args, "--dir", Path.Combine(".data", "bench-till")));
        Directory.CreateDirectory(root);
        string dir = Path.Combine(root, Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var at = new DateTimeOffset(2026, 11, 23, 12, 30, 0, TimeSpan.FromHours(5));
            var database = EdgeDatabase.Open(Path.Combine(dir, "edge.db"));
            DemoSchool.Seed(database, at, pupils: 1200, classes: 40);
            var ledger = new CanteenLedger(database);
            var (menu, shift) = DemoCanteen.Seed(ledger, 1200, at);
            Console.Error.WriteLine($"Store {database.Path} on {FileSystemOf(dir)}; synchronous={Pragma(database, "synchronous")} (2 = FULL), journal_mode={Pragma(database, "journal_mode")}");

            // 1. Charge latency.
            for (int i = 0; i < 100; i++) ledger.Charge(DemoCanteen.Sale(1_000_000 + i, 1200, menu, shift.Id, at)); // warm-up: JIT, page cache
            var latency = new double[charges];
            for (int i = 0; i < charges; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                var result = ledger.Charge(DemoCanteen.Sale(i, 1200, menu, shift.Id, at));
                latency[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                if (!result.Succeeded) throw new InvalidOperationException(result.Message);
            }
            var replay = Measure(() => ledger.Charge(DemoCanteen.Sale(0, 1200, menu, shift.Id, at)), 500);

            // 2. One till, a queue of 300: card read -> pupil on screen -> charge.
            var perPupil = Queue(ledger, menu, shift.Id, at, 2_000_000, queue);

            // 3. Three tills at once, each with its own queue.
            var shifts = new[] { shift, ledger.OpenShift("till-2", 5, 0, at), ledger.OpenShift("till-3", 6, 0, at) };
            var started = Stopwatch.GetTimestamp();
            var parallel = shifts.Select((s, k) => Task.Run(() => Queue(ledger, menu, s.Id, at, 3_000_000 + k * 10_000, queue))).ToArray();
            Task.WaitAll(parallel);
            double threeTillsWall = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var all = parallel.SelectMany(p => p.Result).ToArray();
            var check = ledger.Verify();

            Console.WriteLine();
            Console.WriteLine($"Canteen till on a real SQLite file, synchronous=FULL ({FileSystemOf(dir)}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription.Trim()})");
            Console.WriteLine("| measurement | n | p50 ms | p99 ms | p99.9 ms | max ms |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            Console.WriteLine(Row("charge (entries + outbox event, one fsync'd commit)", latency));
            Console.WriteLine(Row("replayed charge (same idempotency key, nothing written)", replay));
            Console.WriteLine(Row("one till: card read + pupil on screen + charge, per pupil", perPupil));
            Console.WriteLine(Row("three tills at once: per pupil", all));
            Console.WriteLine();
            double software = perPupil.Sum() / 1000;
            Console.WriteLine($"Queue of {queue} pupils at one till: software {software:F1} s in all ({perPupil.Average():F1} ms a pupil) against about {queue * humanSeconds / 60:F0} min of people at {humanSeconds:F0} s a pupil: the software is {100 * software / (queue * humanSeconds):F2}% of the queue's time.");
            Console.WriteLine($"Three tills, {queue} pupils each: {3 * queue} sales in {threeTillsWall:F1} s of software time ({3 * queue / threeTillsWall:F0} sales/s).");
            Console.WriteLine($"Ledger after the run: {check.Transactions} transactions, {check.Entries} entries, {(check.Balanced ? "balanced" : "NOT BALANCED: " + string.Join("; ", check.Problems))}.");
            return check.Balanced ? 0 : 1;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static double[] Queue(CanteenLedger ledger, IReadOnlyList<MenuItem> menu, long shiftId, DateTimeOffset at, long firstSale, int pupils)
    {
        var times = new double[pupils];
        for (int i = 0; i < pupils; i++)
        {
            long sale = firstSale + i;
            int pupil = 1 + (int)(sale % 1200);
            long t0 = Stopwatch.GetTimestamp();
            var shown = ledger.IdentifyByCard(DemoSchool.PupilCard(pupil), at);
            var result = shown is null ? null : ledger.Charge(DemoCanteen.Sale(sale, 1200, menu, shiftId, at) with { PupilId = shown.PupilId });
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (result is { Succeeded: false }) throw new InvalidOperationException(result.Message);
        }
        return times;
    }

    private static double[] Measure(Action action, int times)
    {
        var result = new double[times];
        for (int i = 0; i < times; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            action();
            result[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        return result;
    }

    private static string Row(string what, double[] values)
    {
        var sorted = values.Order().ToArray();
        double P(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"| {what} | {sorted.Length} | {P(0.5):F2} | {P(0.99):F2} | {P(0.999):F2} | {sorted[^1]:F2} |");
    }

    private static string Pragma(EdgeDatabase database, string name)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA " + name;
        return Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "?";
    }

    /// <summary>The file system holding <paramref name="dir"/> (from /proc/mounts): tmpfs would make fsync free and the figures meaningless.</summary>
    private static string FileSystemOf(string dir)
    {
        if (!File.Exists("/proc/mounts")) return "unknown file system";
        var best = ("", "unknown");
        foreach (var line in File.ReadLines("/proc/mounts"))
        {
            var f = line.Split(' ');
            if (f.Length > 2 && dir.StartsWith(f[1], StringComparison.Ordinal) && f[1].Length >= best.Item1.Length) best = (f[1], f[2]);
        }
        return $"{best.Item2} at {best.Item1}";
    }

    private static int ArgValue(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int v) ? v : fallback;
    }

    private static string ArgString(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}
