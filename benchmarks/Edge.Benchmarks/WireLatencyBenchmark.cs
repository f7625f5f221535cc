using System.Globalization;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Runtime;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Devices.Profiles;
using Kezekshi.Edge.Devices.Protocols.ModbusRtu;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Benchmarks;

/// <summary>
/// Card decision latency measured on the wire, as the issue defines it: from the last byte of the
/// reader's osdp_RAW frame written on the simulator's side of a pseudo-terminal to the first byte of
/// the relay command read on the relay simulator's side. The whole agent runs as in production
/// (termios ports, OSDP session polling four readers, Modbus master polling the input module,
/// policy, actuation journal); pseudo-terminals carry bytes instantly, so the table shows the software
/// time measured and the wire time the same frames would take at that baud rate, separately.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class WireLatencyBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        int taps = ArgValue(args, "--taps", 10_000);
        var bauds = ArgValue(args, "--baud", 0) is int b and > 0 ? [b] : new[] { 115200, 9600 };
        var rows = new List<string>();
        foreach (int baud in bauds)
        {
            Console.Error.WriteLine($"[{baud} baud] {taps} taps...");
            rows.Add(await MeasureAsync(baud, taps).ConfigureAwait(false));
        }
        Console.WriteLine();
        Console.WriteLine($"Card decision latency on the wire ({taps} taps per row, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription.Trim()})");
        Console.WriteLine("| baud | taps | measured on the pty: p50 / p99 / p99.9 / max | less the t3.5 silence the bus imposed (software): p50 / p99 / p99.9 / max | wire time of RAW reply + relay request | t3.5 |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows) Console.WriteLine(row);
        return 0;
    }

    private static async Task<string> MeasureAsync(int baud, int taps)
    {
        string dir = Path.Combine(Path.GetTempPath(), "kezekshi-wire-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var start = ShiftedTimeProvider.NextSchoolMorning(DateTimeOffset.UtcNow, new TimeOnly(7, 40));
            var time = new ShiftedTimeProvider(start);
            using var loggers = LoggerFactory.Create(l => l.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
            var database = EdgeDatabase.Open(Path.Combine(dir, "edge.db"));
            DemoSchool.Seed(database, start);
            await using var rig = DemoRig.Start(baud);
            rig.PupilsWalkThrough = false; // passages time out; presence never changes, so anti-passback never refuses
            var options = rig.CreateOptions(dir);
            var topology = GateTopology.Load(options);
            await using var runtime = AgentRuntime.Create(options, topology, database, loggers, time, new RuntimeTuning { OsdpPollInterval = TimeSpan.FromMilliseconds(ArgValue(Environment.GetCommandLineArgs(), "--osdp-poll-ms", 20)) });
            var probe = new WireLatencyProbe(coil => coil switch { 0 => 1, 2 => 3, _ => null }, ModbusRtuMaster.InterFrameGap(baud));
            using var measured = new SemaphoreSlim(0);
            probe.Measured += _ => measured.Release();
            rig.OsdpWire.AfterWrite = probe.OnReaderWrite;
            rig.ModbusWire.AfterRead = probe.OnRelayBoardRead;
            rig.ModbusWire.AfterWrite = probe.OnRelayBoardWrite;
            await runtime.StartAsync().ConfigureAwait(false);
            var until = DateTime.UtcNow.AddSeconds(10);
            while (!runtime.Devices.All(d => d.IsUp) && DateTime.UtcNow < until) await Task.Delay(20).ConfigureAwait(false);
            await Task.Delay(500).ConfigureAwait(false);

            var pupils = Enumerable.Range(1, 1200).Where(p => !DemoSchool.IsBlocked(p) && !DemoSchool.IsLost(p)).ToArray();
            int warmup = 200, missed = 0;
            var interval = TimeSpan.FromMilliseconds(ArgValue(Environment.GetCommandLineArgs(), "--interval-ms", 20));
            for (int i = 0; i < taps + warmup; i++)
            {
                if (i == warmup) lock (probe.Samples) { probe.Samples.Clear(); probe.SoftwareSamples.Clear(); }
                byte reader = i % 2 == 0 ? (byte)1 : (byte)3;
                rig.Tap(reader, DemoSchool.PupilCard(pupils[i % pupils.Length]));
                if (!await measured.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false)) missed++;
                // One tap every ~25 ms over two gates: far busier than a real turnstile (about one pupil a second),
                // yet slow enough that the bus traffic of earlier taps (relay releases) does not pile up.
                await Task.Delay(interval).ConfigureAwait(false);
                if (i % 1000 == 999) Console.Error.WriteLine($"  {i + 1 - warmup} taps, {missed} without a relay command");
            }
            await runtime.StopAsync().ConfigureAwait(false);
            var samples = probe.Samples.ToArray();
            var software = probe.SoftwareSamples.ToArray();
            Array.Sort(samples);
            Array.Sort(software);
            static double Pct(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
            double P(double p) => Pct(samples, p);
            double S(double p) => Pct(software, p);
            double wireMs = (16 + 8) * 10 * 1000.0 / baud;
            double gapMs = ModbusRtuMaster.InterFrameGap(baud).TotalMilliseconds;
            return string.Create(CultureInfo.InvariantCulture,
                $"| {baud} | {samples.Length} | {P(50) / 1000:F3} / {P(99) / 1000:F3} / {P(99.9) / 1000:F3} / {samples[^1] / 1000:F3} ms | {S(50) / 1000:F3} / {S(99) / 1000:F3} / {S(99.9) / 1000:F3} / {software[^1] / 1000:F3} ms | {wireMs:F2} ms | {gapMs:F2} ms |");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static int ArgValue(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int v) ? v : fallback;
    }
}
