using System.CommandLine;
using System.Globalization;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Runtime;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Devices.Profiles;
using Kezekshi.Edge.Devices.Protocols.ModbusRtu;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Cli;

/// <summary>
/// <c>demo</c>: a whole school morning on simulated hardware. Creates the demo school, starts device
/// simulators on pseudo-terminals, runs the real agent against them, replays a morning rush with the
/// usual troubles (blocked and lost cards, anti-passback, visitors, a fire drill) and prints a summary.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var taps = new Option<int>("--taps") { Description = "Pupils tapping in during the rush.", DefaultValueFactory = _ => 300 };
        var dataDir = new Option<string>("--data-dir") { Description = "Where the demo database goes (recreated each run).", DefaultValueFactory = _ => Path.Combine(".data", "demo") };
        var baud = new Option<int>("--baud") { Description = "RS-485 speed of the simulated buses.", DefaultValueFactory = _ => 115200 };
        var interval = new Option<int>("--interval-ms") { Description = "Time between two taps (alternating between the two turnstiles).", DefaultValueFactory = _ => 150 };
        var syncBroker = new Option<string?>("--sync-broker") { Description = "Sync the demo school through this MQTT broker (host:port; tools/demo.sh starts one)." };
        var syncPki = new Option<string>("--sync-pki") { Description = "Folder with ca.crt and the demo school's certificate.", DefaultValueFactory = _ => Path.Combine(".data", "demo-pki") };
        var webPort = new Option<int>("--web-port") { Description = "Serve the web UI on 127.0.0.1:<port> during the demo (0: no web UI).", DefaultValueFactory = _ => 8080 };
        var stay = new Option<bool>("--stay") { Description = "Keep the web UI running after the summary (the gates have stopped; what they recorded stays visible), until Ctrl+C." };
        var command = new Command("demo", "Run a simulated school morning: demo school, simulated readers and turnstiles on pseudo-terminals, a morning rush and a fire drill.");
        command.Options.Add(taps);
        command.Options.Add(dataDir);
        command.Options.Add(baud);
        command.Options.Add(interval);
        command.Options.Add(syncBroker);
        command.Options.Add(syncPki);
        command.Options.Add(webPort);
        command.Options.Add(stay);
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(taps), parse.GetValue(dataDir)!, parse.GetValue(baud), parse.GetValue(interval), Console.Out, ct,
            parse.GetValue(webPort), parse.GetValue(stay), parse.GetValue(syncBroker), parse.GetValue(syncPki)));
        return command;
    }

    public static async Task<int> RunAsync(int taps, string dataDirectory, int baud, int intervalMs, TextWriter output, CancellationToken cancellationToken,
        int webPort = 0, bool stay = false, string? syncBroker = null, string? syncPki = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!OperatingSystem.IsLinux())
        {
            await output.WriteLineAsync("The demo simulates devices on Linux pseudo-terminals; on Windows run the tests or connect real devices with `run`.").ConfigureAwait(false);
            return 2;
        }
        return await RunOnLinuxAsync(taps, dataDirectory, baud, intervalMs, output, cancellationToken, webPort, stay, syncBroker, syncPki).ConfigureAwait(false);
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static async Task<int> RunOnLinuxAsync(int taps, string dataDirectory, int baud, int intervalMs, TextWriter output, CancellationToken cancellationToken,
        int webPort, bool stay, string? syncBroker, string? syncPki)
    {
        taps = Math.Clamp(taps, 20, 1100);
        var start = ShiftedTimeProvider.NextSchoolMorning(DateTimeOffset.UtcNow, new TimeOnly(7, 40));
        var time = new ShiftedTimeProvider(start);
        using var loggers = LoggerFactory.Create(b => b
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
            .SetMinimumLevel(LogLevel.Warning));

        // 1. The school.
        Directory.CreateDirectory(dataDirectory);
        string dbPath = Path.Combine(dataDirectory, "edge.db");
        SqliteConnection.ClearAllPools();
        foreach (var stale in new[] { dbPath, dbPath + "-wal", dbPath + "-shm", Path.Combine(dataDirectory, "actuations.journal") })
            File.Delete(stale);
        await output.WriteLineAsync($"[1/5] Creating the demo school in {dbPath}: 1,200 pupils in 40 classes, 80 staff, 3 visitors.").ConfigureAwait(false);
        var database = EdgeDatabase.Open(dbPath);
        DemoSchool.Seed(database, start);

        // 2. The hardware.
        await using var rig = DemoRig.Start(baud);
        rig.HesitateEvery = 25;
        await output.WriteLineAsync($"[2/5] Simulated devices on pseudo-terminals ({baud} baud):").ConfigureAwait(false);
        await output.WriteLineAsync($"      OSDP bus      {rig.OsdpPty.SlavePath}: readers gate1-in (1), gate1-out (2), gate2-in (3), gate2-out (4)").ConfigureAwait(false);
        await output.WriteLineAsync($"      Modbus bus    {rig.ModbusPty.SlavePath}: 8-relay board (1), 8-input module (2) with pass sensors and the fire-alarm contact").ConfigureAwait(false);
        await output.WriteLineAsync($"      line reader   {rig.LinePty.SlavePath}: staff door").ConfigureAwait(false);

        // 3. The agent, configured exactly as `run` would be.
        var options = rig.CreateOptions(dataDirectory);
        // Faces: biometrics under a demo DPIA, consents, enrolment from ORL images and a camera on gate1 (or cards only, saying why).
        using var faces = await DemoFaces.PrepareAsync(dataDirectory, options, DateTimeOffset.UtcNow, output, cancellationToken).ConfigureAwait(false);
        var topology = GateTopology.Load(options);
        await using var runtime = AgentRuntime.Create(options, topology, database, loggers, time, new RuntimeTuning { OsdpPollInterval = TimeSpan.FromMilliseconds(5) },
            faces?.Setup);
        AddMorningRushRule(database);
        var probe = new WireLatencyProbe(coil => coil switch { 0 => 1, 1 => 2, 2 => 3, 3 => 4, _ => null }, ModbusRtuMaster.InterFrameGap(baud));
        rig.OsdpWire.AfterWrite = probe.OnReaderWrite;
        rig.ModbusWire.AfterRead = probe.OnRelayBoardRead;
        rig.ModbusWire.AfterWrite = probe.OnRelayBoardWrite;
        var decisions = new List<Passage>();
        foreach (var gate in runtime.Gates)
        {
            gate.Decided += passage =>
            {
                lock (decisions) decisions.Add(passage);
                output.WriteLine(FormatDecision(passage, time));
            };
        }
        await runtime.StartAsync().ConfigureAwait(false);
        Microsoft.AspNetCore.Builder.WebApplication? web = null;
        if (webPort > 0)
        {
            DemoWebUi.SeedCanteen(database, start);
            DemoWebUi.CreateAccounts(database, output);
            web = await DemoWebUi.StartAsync(database, runtime, webPort, loggers, output).ConfigureAwait(false);
        }
        await output.WriteLineAsync($"[3/5] Agent started: {topology.Gates.Count} gates, {topology.Buses.Count} serial ports; waiting for the devices to answer...").ConfigureAwait(false);
        await WaitAsync(() => runtime.Devices.All(d => d.IsUp), TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        await using var sync = syncBroker is null ? null
            : await DemoSync.StartAsync(syncBroker, syncPki ?? Path.Combine(".data", "demo-pki"), database, runtime, loggers, output).ConfigureAwait(false);
        await Task.Delay(300, cancellationToken).ConfigureAwait(false);

        // 4. The morning.
        await output.WriteLineAsync($"[4/5] {time.GetUtcNow().ToOffset(TimeSpan.FromHours(5)):dddd HH:mm} in Almaty: the morning rush ({taps} pupils, two turnstiles, gate1 entry-only until 08:30, gate2 hard anti-passback).").ConfigureAwait(false);
        var delay = TimeSpan.FromMilliseconds(Math.Max(20, intervalMs));
        int fireDrillAt = taps * 2 / 3;
        for (int i = 1; i <= taps && !cancellationToken.IsCancellationRequested; i++)
        {
            byte entryReader = i % 2 == 1 ? (byte)1 : (byte)3;
            rig.Tap(entryReader, DemoSchool.PupilCard(i));
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            switch (i)
            {
                case 10: rig.Tap(1, 0x0F_FFFF); break;                                   // a card the school never issued
                case 20: rig.TapGarbled(3, DemoSchool.PupilCard(500)); break;            // a bad read (parity): ignored, counted
                case 30: rig.Tap(2, DemoSchool.PupilCard(29)); break;                    // leaving through gate1 during entry-only
                case 40: rig.Tap(3, DemoSchool.PupilCard(20)); break;                    // hard anti-passback at gate2: 20 is already in
                case 50: rig.Tap(1, DemoSchool.PupilCard(31)); break;                    // soft anti-passback at gate1: allowed, flagged
                case 60: rig.Tap(1, DemoSchool.VisitorCard(1)); break;                   // visitor with a valid pass
                case 70: rig.Tap(3, DemoSchool.VisitorCard(3)); break;                   // visitor whose pass expired yesterday
                case 80: rig.Tap(4, DemoSchool.PupilCard(80)); break;                    // leaving through gate2 (allowed)
                case 90:
                    for (int s = 1; s <= 5; s++)
                    {
                        await rig.StaffDoor.SendCardAsync(DemoSchool.StaffCard(s), cancellationToken).ConfigureAwait(false);
                        await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                    }
                    break;
            }
            if (i == fireDrillAt)
            {
                await output.WriteLineAsync("      >>> FIRE DRILL: the alarm panel opens its contact").ConfigureAwait(false);
                probe.Paused = true;
                rig.FireAlarm(true);
                await WaitAsync(() => runtime.Emergency.IsActive, TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false);
                await WaitAsync(() => rig.RelayClosed(1) && rig.RelayClosed(2) && rig.RelayClosed(3) && rig.RelayClosed(4) && rig.RelayClosed(7), TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false);
                await output.WriteLineAsync($"      >>> every gate held open: gate1 {Open(rig, 1, 2)}, gate2 {Open(rig, 3, 4)}, staff door emergency release {(rig.RelayClosed(7) ? "closed (open door)" : "NOT closed")}").ConfigureAwait(false);
                rig.Tap(1, DemoSchool.PupilCard(97)); // even a blocked card passes: nothing holds a gate during an alarm
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
                rig.FireAlarm(false);
                await WaitAsync(() => !runtime.Emergency.IsActive, TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false);
                await output.WriteLineAsync("      >>> alarm cleared: gates back to normal").ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
                probe.Paused = false;
            }
        }

        // Let the last pupils pass (or not) and the recorder commit.
        await WaitAsync(() => runtime.Gates.All(g => g.WaitingToPass == 0), TimeSpan.FromSeconds(8), cancellationToken).ConfigureAwait(false);
        int decided;
        lock (decisions) decided = decisions.Count;
        await WaitAsync(() => runtime.Recorder.Written >= decided, TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        await runtime.StopAsync().ConfigureAwait(false);

        // 5. The summary.
        await output.WriteLineAsync("[5/5] Summary").ConfigureAwait(false);
        List<Passage> all;
        lock (decisions) all = [.. decisions];
        foreach (var group in all.GroupBy(p => GateDecision.ReasonCode(p.Decision.Reason)).OrderByDescending(g => g.Count()))
            await output.WriteLineAsync($"      {group.Key,-28} {group.Count(),5}").ConfigureAwait(false);
        using (var connection = database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT outcome, COUNT(*) FROM passages GROUP BY outcome ORDER BY 2 DESC";
            using var reader = command.ExecuteReader();
            var outcomes = new List<string>();
            while (reader.Read()) outcomes.Add($"{reader.GetString(0)} {reader.GetInt64(1)}");
            await output.WriteLineAsync($"      stored passages by outcome: {string.Join(", ", outcomes)}").ConfigureAwait(false);
            reader.Close();
            command.CommandText = "SELECT (SELECT COUNT(*) FROM passages), (SELECT COUNT(*) FROM outbox)";
            using var counts = command.ExecuteReader();
            counts.Read();
            await output.WriteLineAsync($"      decisions {all.Count}, passages in SQLite {counts.GetInt64(0)}, outbox events waiting for sync {counts.GetInt64(1)}").ConfigureAwait(false);
        }
        if (sync is not null) await sync.ReportAsync(output).ConfigureAwait(false);
        await output.WriteLineAsync($"      repeated reads ignored (debounce) {runtime.DebouncedReads}; pupils inside now {runtime.Presence.CountInside()}").ConfigureAwait(false);
        if (faces is not null)
        {
            var faceLatency = new LatencyHistogram();
            foreach (var p in all.Where(p => p.Credential == PassageCredential.Face && p.Decision.Granted && p.LatencyMicroseconds is not null)) faceLatency.Record(p.LatencyMicroseconds!.Value);
            var cameras = runtime.Cameras;
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"      face decisions {all.Count(p => p.Credential == PassageCredential.Face)} (granted {faceLatency.Count}); too late (not actuated) {runtime.Gates.Sum(g => g.FaceTooLate) + cameras.Sum(c => c.TooLate)}; frames identified {cameras.Sum(c => c.FramesProcessed)}, dropped while busy {cameras.Sum(c => c.FramesDropped)}")).ConfigureAwait(false);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"        face: frame arrived -> relay acknowledged: n={faceLatency.Count}  p50 ≤{Ms(faceLatency.Percentile(50))}  p99 ≤{Ms(faceLatency.Percentile(99))}  max {Ms(faceLatency.MaxMicroseconds)}")).ConfigureAwait(false);
        }
        var inProcess = new LatencyHistogram();
        foreach (var gate in runtime.Gates) foreach (var p in all.Where(p => p.Gate == gate.Name && p.Credential != PassageCredential.Face && p.LatencyMicroseconds is not null)) inProcess.Record(p.LatencyMicroseconds!.Value);
        await output.WriteLineAsync("      decision latency (software only; pseudo-terminals have no wire time):").ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"        card frame on the wire -> relay command on the wire: n={probe.Histogram.Count}  p50 {Ms(Percentile(probe.Samples, 50))}  p99 {Ms(Percentile(probe.Samples, 99))}  max {Ms(probe.Samples.Count == 0 ? 0 : probe.Samples.Max())}")).ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"        the same less the Modbus t3.5 silence the bus imposed: p50 {Ms(Percentile(probe.SoftwareSamples, 50))}  p99 {Ms(Percentile(probe.SoftwareSamples, 99))}  max {Ms(probe.SoftwareSamples.Count == 0 ? 0 : probe.SoftwareSamples.Max())}")).ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"        card frame parsed -> relay acknowledged (in the agent): n={inProcess.Count}  p50 ≤{Ms(inProcess.Percentile(50))}  p99 ≤{Ms(inProcess.Percentile(99))}  max {Ms(inProcess.MaxMicroseconds)}")).ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"        + wire time at {baud} baud: osdp_RAW reply (16 bytes) {Ms(WireUs(16, baud))} + relay request (8 bytes) {Ms(WireUs(8, baud))}")).ConfigureAwait(false);
        await output.WriteLineAsync($"Done. The database is kept at {dbPath} (open it with: sqlite3 {dbPath} 'select * from passages limit 10').").ConfigureAwait(false);
        if (web is not null)
        {
            if (stay)
            {
                await output.WriteLineAsync("The web UI stays up; press Ctrl+C to stop.").ConfigureAwait(false);
                try { await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
            }
            await web.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await web.DisposeAsync().ConfigureAwait(false);
        }
        return 0;
    }

    private static void AddMorningRushRule(EdgeDatabase database)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO gate_direction_schedules(gate_id, weekday, from_time, until_time, mode)
            SELECT g.id, d.value, '07:30', '08:30', 'entry-only' FROM gates g, json_each('[1,2,3,4,5,6]') d WHERE g.name = 'gate1'
            """;
        command.ExecuteNonQuery();
    }

    private static string FormatDecision(Passage p, TimeProvider time)
    {
        string who = p.Holder is { } h ? $"{h.Kind.ToString().ToLowerInvariant()} {h.FullName}" : (p.CardNumber is { } c ? $"card {c}" : "");
        if (p.Credential == PassageCredential.Face) who = "[face] " + who;
        string latency = p.LatencyMicroseconds is { } us ? string.Create(CultureInfo.InvariantCulture, $"{us / 1000.0,6:F2} ms") : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"      {time.GetUtcNow().ToOffset(TimeSpan.FromHours(5)):HH:mm:ss.fff} {p.Gate,-10} {Passage.DirectionCode(p.Direction),-5} {(p.Decision.Granted ? "OPEN  " : "DENIED")} {GateDecision.ReasonCode(p.Decision.Reason),-26} {who,-34} {latency}");
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static string Open(DemoRig rig, int a, int b) => rig.RelayClosed(a) && rig.RelayClosed(b) ? "open both ways" : "NOT open";

    private static double WireUs(int bytes, int baud) => bytes * 10 * 1_000_000.0 / baud;

    private static string Ms(double microseconds) => string.Create(CultureInfo.InvariantCulture, $"{microseconds / 1000.0:F2} ms");

    internal static double Percentile(List<double> samples, double percentile)
    {
        double[] sorted;
        lock (samples) sorted = [.. samples];
        if (sorted.Length == 0) return 0;
        Array.Sort(sorted);
        int index = (int)Math.Ceiling(percentile / 100.0 * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan limit, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + limit;
        while (!condition() && DateTime.UtcNow < until) await Task.Delay(20, cancellationToken).ConfigureAwait(false);
    }
}
