using System.Globalization;
using System.Runtime.Versioning;
using System.Text.Json.Nodes;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Devices.Protocols.ModbusRtu;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Agent.Tests.EndToEnd;

/// <summary>
/// The agent executable as a child process (<c>kezekshi-edge run --config …</c>) against simulated hardware
/// that lives in this process: what happens when it is killed, and what it says about a bad configuration.
/// </summary>
[Category("EndToEnd")]
[SupportedOSPlatform("linux")]
public sealed class AgentProcessTests
{
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromSeconds(15);

    [SetUp]
    public void RequireLinux()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("The simulated hardware runs on Linux pseudo-terminals.");
        Assert.That(File.Exists(AgentProcess.AgentDll), $"{AgentProcess.AgentDll} is built beside the tests");
    }

    /// <summary>
    /// kill -9 at random moments of a morning rush, eight times: every relay-closing command the relay board
    /// received must be a granted passage in SQLite afterwards (journaled before the relay command, recovered
    /// with outcome 'unknown' on the next start), with no passage twice and an intact database.
    /// </summary>
    [Test]
    public async Task Every_actuation_survives_kill_9_at_random_points()
    {
        using var directory = new TempDirectory();
        await using var rig = DemoRig.Start(115200);
        var frames = new RelayOnCounter(coil => coil is 0 or 2);
        rig.ModbusWire.AfterRead = frames.OnRelayBoardRead;
        var options = rig.CreateOptions(directory.Path);
        // A 2 s Modbus reply time: a test machine busy with the other process must not make the agent retry a relay
        // command, since a retry would show on the wire as a second actuation.
        options.HardwareProfilesDirectory = GateRig.CopyProfilesWithModbusReplyTime(directory.File("hardware-profiles"), 2000);
        string config = AgentProcess.WriteConfig(directory.File("appsettings.json"), options);

        // The agent under `run` uses the real clock: without schedules and holidays pupils may enter at any hour.
        var database = EdgeDatabase.Open(options.ResolvedDatabasePath);
        DemoSchool.Seed(database, DateTimeOffset.UtcNow);
        using (var connection = database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "DELETE FROM schedules; DELETE FROM holidays;";
            command.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();

        var outputs = new List<string>();
        var random = new Random(9);
        int nextPupil = 0;
        int rounds = 8;
        for (int round = 1; round <= rounds; round++)
        {
            using var agent = await StartAndWaitUntilServingAsync(rig, directory.Path, config);
            var killAt = TimeSpan.FromMilliseconds(random.Next(300, 3000));
            // Odd rounds: a rush (a pupil every 30 ms; the arms never stop, so passages wait for their 5 s pass time and a
            // kill finds them only in the journal). Even rounds: pupils who walk through (committed before the kill).
            int pace = round % 2 == 1 ? 30 : 150;
            long started = TimeProvider.System.GetTimestamp();
            bool toGate1 = true;
            while (TimeProvider.System.GetElapsedTime(started) < killAt)
            {
                rig.Tap(toGate1 ? (byte)1 : (byte)3, DemoSchool.PupilCard(NextActivePupil(ref nextPupil)));
                toGate1 = !toGate1;
                await Task.Delay(pace);
            }
            Assert.That(agent.HasExited, Is.False, $"round {round}: the agent is still running before the kill. Its output:{Environment.NewLine}{agent.Output}");
            agent.KillHard();
            await agent.WaitForExitAsync(s_hangGuard);
            outputs.Add($"round {round}:{Environment.NewLine}{agent.Output}");
            // The kernel clears a real port's exclusive claim when the killed process's descriptor closes; these
            // pseudo-terminals keep a slave descriptor open, so the test does it.
            rig.OsdpPty.ReleaseExclusive();
            rig.ModbusPty.ReleaseExclusive();
            rig.LinePty.ReleaseExclusive();
        }

        // One more start recovers what the last kill left in the journal; then a clean stop (SIGTERM, as systemd does).
        using (var agent = await StartAndWaitUntilServingAsync(rig, directory.Path, config))
        {
            agent.Terminate();
            int exitCode = await agent.WaitForExitAsync(s_hangGuard);
            Assert.That(exitCode, Is.Zero, $"a clean stop on SIGTERM. Output:{Environment.NewLine}{agent.Output}");
            outputs.Add($"last start:{Environment.NewLine}{agent.Output}");
        }
        // Warnings are expected (journal recovered); an error or critical line (a port refused, a fire alarm) is not.
        var alarming = outputs.SelectMany(o => o.Split(Environment.NewLine)).Where(l => l.Contains(" fail: ", StringComparison.Ordinal) || l.Contains(" crit: ", StringComparison.Ordinal)).ToList();
        Assert.That(alarming, Is.Empty, "the agent's error and critical log lines over all rounds");

        long gate1On = frames.CountFor(0), gate2On = frames.CountFor(2);
        using var check = database.Connect();
        long Scalar(string sql)
        {
            using var command = check.CreateCommand();
            command.CommandText = sql;
            return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        string IntegrityCheck()
        {
            using var command = check.CreateCommand();
            command.CommandText = "PRAGMA integrity_check";
            return (string)command.ExecuteScalar()!;
        }
        long gate1Granted = Scalar("SELECT COUNT(*) FROM passages WHERE decision = 'granted' AND gate = 'gate1' AND direction = 'entry'");
        long gate2Granted = Scalar("SELECT COUNT(*) FROM passages WHERE decision = 'granted' AND gate = 'gate2' AND direction = 'entry'");
        long recovered = Scalar("SELECT COUNT(*) FROM passages WHERE outcome = 'unknown' AND note LIKE 'recovered%'");
        long passed = Scalar("SELECT COUNT(*) FROM passages WHERE outcome = 'passed'");
        long duplicateUids = Scalar("SELECT COUNT(*) FROM (SELECT passage_uid FROM passages GROUP BY passage_uid HAVING COUNT(*) > 1)");
        long cardsTwice = Scalar("SELECT COUNT(*) FROM (SELECT card_number FROM passages GROUP BY card_number HAVING COUNT(*) > 1)");
        await TestContext.Out.WriteLineAsync($"{rounds} kills, {nextPupil} pupils tapped; relay-on commands: gate1 {gate1On}, gate2 {gate2On}; "
            + $"granted passages: gate1 {gate1Granted}, gate2 {gate2Granted} ({passed} passed, {recovered} recovered from the journal)");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(gate1On, Is.GreaterThan(0), "the agent opened gate1 at all");
            Assert.That(gate2On, Is.GreaterThan(0), "the agent opened gate2 at all");
            Assert.That(gate1Granted, Is.GreaterThanOrEqualTo(gate1On), "every time the board closed gate1's entry relay there is a granted passage in the store");
            Assert.That(gate2Granted, Is.GreaterThanOrEqualTo(gate2On), "every time the board closed gate2's entry relay there is a granted passage in the store");
            Assert.That(recovered, Is.GreaterThan(0), "some passages were in flight at a kill and came back from the journal");
            Assert.That(passed, Is.GreaterThan(0), "some passages were committed before a kill (their journal lines must not be stored again)");
            Assert.That(duplicateUids, Is.Zero, "no passage is stored twice");
            Assert.That(cardsTwice, Is.Zero, "every pupil tapped once, so no card has two passages");
            Assert.That(IntegrityCheck(), Is.EqualTo("ok"));
        }
    }

    [Test]
    public async Task A_missing_config_file_and_a_bad_configuration_stop_run_with_a_clear_message()
    {
        using var directory = new TempDirectory();
        string missing = Path.Combine(directory.Path, "nonexistent", "appsettings.json");
        using (var agent = AgentProcess.Start(directory.Path, "run", "--config", missing))
        {
            int exitCode = await agent.WaitForExitAsync(s_hangGuard);
            using (Assert.EnterMultipleScope())
            {
                Assert.That(exitCode, Is.EqualTo(2));
                Assert.That(agent.Output, Does.Contain($"The configuration file {missing} does not exist"));
            }
        }

        var options = new EdgeOptions
        {
            SchoolId = DemoSchool.SchoolId,
            DataDirectory = directory.Path,
            Devices =
            [
                new DeviceOptions { Name = "gate1-in", Profile = "generic-osdp-reader", Port = "/dev/ttyUSB0", Address = 1 },
                new DeviceOptions { Name = "relays", Profile = "modbus-relay-8ch", Port = "/dev/ttyUSB1", Address = 1 },
            ],
            Gates = [new GateOptions { Name = "gate1", Turnstile = "tripod-turnstile", RelayBoard = "no-such-board", EntryReader = "gate1-in" }],
        };
        string config = AgentProcess.WriteConfig(directory.File("appsettings.json"), options);
        using (var agent = AgentProcess.Start(directory.Path, "run", "--config", config))
        {
            int exitCode = await agent.WaitForExitAsync(s_hangGuard);
            using (Assert.EnterMultipleScope())
            {
                Assert.That(exitCode, Is.EqualTo(2), agent.Output);
                Assert.That(agent.Output, Does.Contain("problem(s); nothing was started"));
                Assert.That(agent.Output, Does.Contain("no-such-board"), "the problem names the unknown relay board");
                Assert.That(File.Exists(directory.File("edge.db")), Is.False, "nothing was started");
            }
        }

        // Biometrics switched on without the DPIA record: refused with the setting to fill in, never a silent exit.
        string biometrics = directory.File("biometrics-without-dpia.json");
        File.WriteAllText(biometrics, $$"""{ "Edge": { "SchoolId": "{{DemoSchool.SchoolId}}", "DataDirectory": "{{directory.File("bio-data")}}" }, "Biometrics": { "Enabled": true } }""");
        using (var agent = AgentProcess.Start(directory.Path, "run", "--config", biometrics))
        {
            int exitCode = await agent.WaitForExitAsync(s_hangGuard);
            using (Assert.EnterMultipleScope())
            {
                Assert.That(exitCode, Is.EqualTo(2), agent.Output);
                Assert.That(agent.Output, Does.Contain("Biometrics:Dpia:Reference"));
            }
        }
    }

    private static async Task<AgentProcess> StartAndWaitUntilServingAsync(DemoRig rig, string directory, string config)
    {
        long started = TimeProvider.System.GetTimestamp();
        long polls1 = rig.Readers.Device(1).PollCount, polls3 = rig.Readers.Device(3).PollCount;
        var agent = AgentProcess.Start(directory, "run", "--config", config);
        var until = DateTime.UtcNow + s_hangGuard;
        while (!(rig.Modules.Requests.Any(r => r.Slave == DemoRig.InputSlave && r.Function == ModbusFunction.ReadDiscreteInputs && r.Timestamp > started)
                 && rig.Readers.Device(1).PollCount > polls1 && rig.Readers.Device(3).PollCount > polls3))
        {
            if (agent.HasExited || DateTime.UtcNow > until)
            {
                bool exited = agent.HasExited;
                string output = agent.Output;
                agent.Dispose();
                Assert.Fail($"The agent did not start polling its devices (exited: {exited}). Its output:{Environment.NewLine}{output}");
            }
            await Task.Delay(20);
        }
        return agent;
    }

    private static int NextActivePupil(ref int pupil)
    {
        do pupil++; while (DemoSchool.IsBlocked(pupil) || DemoSchool.IsLost(pupil));
        return pupil;
    }

    /// <summary>
    /// Counts relay-closing commands (function 05, value FF00, to the relay board) in the byte stream the relay
    /// board read, with a valid CRC. A command counts when it reached the board, whether or not the agent lived
    /// to see the reply.
    /// </summary>
    private sealed class RelayOnCounter(Func<int, bool> counted)
    {
        private readonly object _gate = new();
        private readonly List<byte> _stream = [];
        private readonly Dictionary<int, long> _counts = [];

        public long CountFor(int coil) { lock (_gate) return _counts.GetValueOrDefault(coil); }

        public void OnRelayBoardRead(ReadOnlyMemory<byte> data, long timestamp)
        {
            lock (_gate)
            {
                _stream.AddRange(data.Span);
                var bytes = _stream.ToArray();
                int i = 0;
                while (i + 8 <= bytes.Length)
                {
                    if (ModbusRequest.TryParse(bytes.AsSpan(i, 8), out var request, out _))
                    {
                        if (request.Slave == DemoRig.RelaySlave && request.Function == ModbusFunction.WriteSingleCoil && request.Value == 0xFF00 && counted(request.Address))
                            _counts[request.Address] = _counts.GetValueOrDefault(request.Address) + 1;
                        i += 8;
                    }
                    else
                    {
                        i++;
                    }
                }
                _stream.RemoveRange(0, i);
            }
        }
    }
}
