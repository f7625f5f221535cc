using System.Globalization;
using System.Runtime.Versioning;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Runtime;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Devices.Profiles;
using Kezekshi.Edge.Devices.Protocols.ModbusRtu;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Tests.EndToEnd;

/// <summary>A passage as stored in SQLite.</summary>
public sealed record StoredPassage(string Uid, string Gate, string Direction, long? CardNumber, string Decision, string Reason, string Outcome, string? Note);

/// <summary>
/// The whole agent at the demo school's gates, in this process: a seeded store, the simulated hardware on
/// real pseudo-terminals (<see cref="DemoRig"/>), and <see cref="AgentRuntime"/> built exactly as <c>run</c>
/// builds it, on a clock that says Monday 07:40 in Almaty. Disposing stops and removes everything.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class GateRig : IAsyncDisposable
{
    /// <summary>How long a test waits for something that should happen in milliseconds: a hang guard, not a timing requirement.</summary>
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(15);

    private GateRig(TempDirectory directory, EdgeDatabase database, DemoRig hardware, EdgeOptions options, RecordingLoggerProvider logs, ILoggerFactory loggers)
    {
        Directory = directory;
        Database = database;
        Hardware = hardware;
        Options = options;
        Logs = logs;
        Loggers = loggers;
    }

    public TempDirectory Directory { get; }
    public EdgeDatabase Database { get; }
    public DemoRig Hardware { get; }
    public EdgeOptions Options { get; }
    public RecordingLoggerProvider Logs { get; }
    public ILoggerFactory Loggers { get; }
    public AgentRuntime Runtime { get; private set; } = null!;

    /// <summary>The relay board (Modbus slave 1) as the simulator holds it.</summary>
    public ModbusSlaveModel RelayBoard => Hardware.Modules[DemoRig.RelaySlave];

    /// <summary>The input module (Modbus slave 2).</summary>
    public ModbusSlaveModel InputModule => Hardware.Modules[DemoRig.InputSlave];

    /// <summary>Builds and starts everything and waits until every port is open and every device has answered.</summary>
    /// <param name="configure">Changes the agent's options before the topology is built (cameras, face timing).</param>
    /// <param name="faces">The face pipeline for the gates, built in the rig's data directory after the school is seeded.</param>
    public static async Task<GateRig> StartAsync(Action<EdgeOptions, TempDirectory>? configure = null, Func<TempDirectory, FaceGateSetup>? faces = null)
    {
        var directory = new TempDirectory();
        var logs = new RecordingLoggerProvider();
        var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        var start = ShiftedTimeProvider.NextSchoolMorning(DateTimeOffset.UtcNow, new TimeOnly(7, 40));
        var database = EdgeDatabase.Open(directory.File("edge.db"));
        DemoSchool.Seed(database, start);
        var hardware = DemoRig.Start(115200);
        var options = hardware.CreateOptions(directory.Path);
        options.HardwareProfilesDirectory = CopyProfilesWithModbusReplyTime(directory.File("hardware-profiles"), TestModbusReplyTimeMs);
        configure?.Invoke(options, directory);
        var rig = new GateRig(directory, database, hardware, options, logs, loggers);
        try
        {
            var topology = GateTopology.Load(options);
            rig.Runtime = AgentRuntime.Create(options, topology, database, loggers, new ShiftedTimeProvider(start),
                new RuntimeTuning { OsdpPollInterval = TimeSpan.FromMilliseconds(5) }, faces?.Invoke(directory));
            await rig.Runtime.StartAsync().ConfigureAwait(false);
            await WaitUntilAsync(() => rig.Runtime.Devices.All(d => d.IsUp), "every serial port is open").ConfigureAwait(false);
            await WaitUntilAsync(() => DemoRig.OsdpReaders.All(r => hardware.Readers.Device(r.Address).PollCount > 0), "every OSDP reader is polled").ConfigureAwait(false);
            await WaitUntilAsync(() => hardware.Modules.Requests.Any(r => r.Slave == DemoRig.InputSlave && r.Function == ModbusFunction.ReadDiscreteInputs), "the input module is polled").ConfigureAwait(false);
            return rig;
        }
        catch
        {
            await rig.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The Modbus reply time of the rig's relay board and input modules (the profiles say 30 ms). The simulated
    /// modules answer at once, so on a loaded 2-core test machine a late reply is the scheduler starving the agent
    /// (seen: 160–225 ms between polls), not a silent module; with 30 ms that tripped the input module's fail-safe
    /// (a fire-alarm emergency holding every gate open) in the middle of unrelated tests. The tests that silence a
    /// module still see it go offline, after 3 × this.
    /// </summary>
    public const int TestModbusReplyTimeMs = 500;

    /// <summary>Copies the shipped hardware profiles to <paramref name="target"/> with the Modbus modules' reply time set to <paramref name="replyTimeMs"/>; returns <paramref name="target"/>.</summary>
    public static string CopyProfilesWithModbusReplyTime(string target, int replyTimeMs)
    {
        System.IO.Directory.CreateDirectory(target);
        foreach (var file in System.IO.Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "hardware-profiles")))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
        foreach (var name in new[] { "modbus-relay-8ch.json", "modbus-input-8ch.json", "modbus-input-8ch-counter.json" })
        {
            // Only the number changes: tests that edit a profile further find its text as shipped.
            string path = Path.Combine(target, name);
            string text = File.ReadAllText(path);
            string changed = System.Text.RegularExpressions.Regex.Replace(text, "\"replyTimeMs\":\\s*\\d+", $"\"replyTimeMs\": {replyTimeMs}");
            if (changed == text)
                throw new InvalidOperationException($"{name} has no replyTimeMs to raise for the tests.");
            File.WriteAllText(path, changed);
        }
        return target;
    }

    /// <summary>Waits until <paramref name="condition"/> holds; fails the test naming <paramref name="what"/> if it does not within the hang guard.</summary>
    public static Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? limit = null) =>
        Eventually.UntilAsync(condition, what, limit ?? HangGuard);

    /// <summary>Stored passages (optionally of one card), oldest first.</summary>
    public IReadOnlyList<StoredPassage> Passages(ulong? card = null) => ReadPassages(Database, card);

    /// <summary>Waits until <paramref name="count"/> passages of <paramref name="card"/> are stored, and returns them.</summary>
    public async Task<IReadOnlyList<StoredPassage>> WaitForPassagesAsync(ulong card, int count = 1)
    {
        IReadOnlyList<StoredPassage> found = [];
        await WaitUntilAsync(() => (found = Passages(card)).Count >= count, $"{count} passage(s) of card {card} are stored").ConfigureAwait(false);
        return found;
    }

    public static IReadOnlyList<StoredPassage> ReadPassages(EdgeDatabase database, ulong? card = null)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT passage_uid, gate, direction, card_number, decision, reason, outcome, note FROM passages"
            + (card is null ? "" : " WHERE card_number = $card") + " ORDER BY id";
        if (card is { } c) command.Parameters.AddWithValue("$card", (long)c);
        using var reader = command.ExecuteReader();
        var list = new List<StoredPassage>();
        while (reader.Read())
        {
            list.Add(new StoredPassage(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetInt64(3),
                reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7)));
        }
        return list;
    }

    /// <summary>How many outbox events carry the passage <paramref name="uid"/>.</summary>
    public long OutboxEventsFor(string uid)
    {
        using var connection = Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM outbox WHERE event_type = 'passage' AND json_extract(payload, '$.uid') = $uid";
        command.Parameters.AddWithValue("$uid", uid);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>Relay changes on the board's coil <paramref name="coil"/> (0-based) made by bus writes, in order.</summary>
    public IReadOnlyList<ModbusCoilChange> CoilChanges(int coil) =>
        Hardware.Modules.CoilChanges.Where(c => c.Slave == DemoRig.RelaySlave && c.Coil == coil).ToList();

    /// <summary>Times the relay on coil <paramref name="coil"/> was switched on by the agent.</summary>
    public int RelayOnCount(int coil) => CoilChanges(coil).Count(c => c.Value);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Runtime is not null) await Runtime.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            try
            {
                await Hardware.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                Loggers.Dispose();
                SqliteConnection.ClearAllPools();
                Directory.Dispose();
            }
        }
    }
}
