using System.Threading.Channels;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Recognition;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Gate;
using Kezekshi.Edge.Devices.Cards;
using Kezekshi.Edge.Devices.Profiles;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Runtime;

/// <summary>Knobs that only benchmarks and the demo turn.</summary>
public sealed record RuntimeTuning
{
    /// <summary>Pause between OSDP poll cycles (the spec allows back-to-back polling).</summary>
    public TimeSpan OsdpPollInterval { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>How often the card/schedule snapshot is rebuilt from the store.</summary>
    public TimeSpan SnapshotRefresh { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>What the gates need for faces: the loaded pipeline, or why there is none.</summary>
public sealed record FaceGateSetup
{
    /// <summary>The face pipeline (null when biometrics are off).</summary>
    public FaceRecognition? Recognition { get; init; }

    /// <summary>Why biometrics are off, for the one warning about configured cameras.</summary>
    public string? OffReason { get; init; }

    /// <summary>Where frames come from; default ffmpeg. The tests and benchmarks may feed frames directly.</summary>
    public Func<CameraPlan, CancellationToken, IAsyncEnumerable<RawImage>>? Frames { get; init; }
}

/// <summary>A card read or a face decision for one gate's queue (one queue per gate keeps its decisions in order).</summary>
internal readonly record struct GateInput(CardRead? Card, FaceRead? Face);

/// <summary>
/// Everything that runs at a school's gates, built from a validated <see cref="GateTopology"/>:
/// the serial buses, the gates, the fire-alarm watch and the passage recorder.
/// </summary>
public sealed class AgentRuntime : IAsyncDisposable
{
    private readonly GateTopology _topology;
    private readonly EdgeDatabase _database;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly RuntimeTuning _tuning;
    private readonly AccessRepository _access;
    private readonly ActuationJournal _journal;
    private readonly ReadDebouncer _debouncer;
    private readonly Dictionary<string, (GateController Gate, Channel<GateInput> Queue)> _gateByReader = new(StringComparer.Ordinal);
    private readonly List<(GateController Gate, Channel<GateInput> Queue)> _gates = [];
    private readonly List<CameraCredentialSource> _cameras = [];
    private readonly EdgeOptions _options;
    private readonly FaceGateSetup _faces;
    private readonly List<Func<CancellationToken, Task>> _busLoops = [];
    private readonly List<DeviceSupervisor> _supervisors = [];
    private readonly List<Task> _running = [];
    private readonly CancellationTokenSource _stop = new();
    private volatile AccessSnapshot _snapshot = AccessSnapshot.Empty;
    private long _loopHeartbeat;

    private AgentRuntime(EdgeOptions options, GateTopology topology, EdgeDatabase database, ILoggerFactory loggers, TimeProvider time, RuntimeTuning tuning, FaceGateSetup faces)
    {
        _options = options;
        _faces = faces;
        _topology = topology;
        _database = database;
        _loggers = loggers;
        _logger = loggers.CreateLogger("Kezekshi.Edge.Agent");
        _time = time;
        _tuning = tuning;
        _access = new AccessRepository(database);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(database.Path))!);
        JournalPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(database.Path))!, "actuations.journal");
        _journal = new ActuationJournal(JournalPath);
        Recorder = new PassageRecorder(database, _journal, loggers.CreateLogger("Kezekshi.Edge.Agent.Store"));
        _debouncer = new ReadDebouncer(TimeSpan.FromMilliseconds(options.DebounceMs), time);
    }

    public EmergencyState Emergency { get; } = new();

    public PresenceTracker Presence { get; } = new();

    public PassageRecorder Recorder { get; }

    public string JournalPath { get; }

    public IReadOnlyList<GateController> Gates => _gates.Select(g => g.Gate).ToList();

    public IReadOnlyList<DeviceSupervisor> Devices => _supervisors;

    /// <summary>The cameras running as credential sources (empty when biometrics are off or the models are missing).</summary>
    public IReadOnlyList<CameraCredentialSource> Cameras => _cameras;

    /// <summary>The face decision window every camera shares (null without cameras).</summary>
    public FaceDecisionWindow? FaceWindow { get; private set; }

    public AccessSnapshot Snapshot => _snapshot;

    /// <summary>The local store the gates write to.</summary>
    public EdgeDatabase Database => _database;

    /// <summary>Card reads ignored as repeats of the same card at the same reader.</summary>
    public long DebouncedReads => Interlocked.Read(ref _debounced);
    private long _debounced;

    /// <summary>True while the agent's loops are alive (for the systemd watchdog).</summary>
    public bool IsHealthy => _running.Count > 0 && _running.All(t => !t.IsCompleted) && _time.GetElapsedTime(Interlocked.Read(ref _loopHeartbeat)) < TimeSpan.FromSeconds(5);

    public static AgentRuntime Create(EdgeOptions options, GateTopology topology, EdgeDatabase database, ILoggerFactory loggers, TimeProvider? time = null, RuntimeTuning? tuning = null,
        FaceGateSetup? faces = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(topology);
        var runtime = new AgentRuntime(options, topology, database, loggers, time ?? TimeProvider.System, tuning ?? new RuntimeTuning(),
            faces ?? new FaceGateSetup { OffReason = "Biometrics:Enabled is false" });
        runtime.Build();
        return runtime;
    }

    private void Build()
    {
        var logger = _loggers.CreateLogger("Kezekshi.Edge.Devices");
        var modbusBuses = new Dictionary<string, ModbusBus>(StringComparer.Ordinal);
        var osdpBuses = new Dictionary<string, OsdpReaderBus>(StringComparer.Ordinal);
        foreach (var bus in _topology.Buses)
        {
            switch (bus.Protocol)
            {
                case BusProtocol.ModbusRtu:
                    var modbus = new ModbusBus(bus, logger, _time);
                    modbusBuses[bus.Port] = modbus;
                    _busLoops.Add(modbus.RunAsync);
                    _supervisors.Add(modbus.Supervisor);
                    break;
                case BusProtocol.Osdp:
                    var osdp = new OsdpReaderBus(bus, OnCardAsync, logger, _time, _tuning.OsdpPollInterval);
                    osdpBuses[bus.Port] = osdp;
                    _busLoops.Add(osdp.RunAsync);
                    _supervisors.Add(osdp.Supervisor);
                    break;
                case BusProtocol.LineReader:
                    var line = new LineReaderPort(bus, OnCardAsync, logger, _time);
                    _busLoops.Add(line.RunAsync);
                    _supervisors.Add(line.Supervisor);
                    break;
            }
        }

        var gateLogger = _loggers.CreateLogger("Kezekshi.Edge.Agent.Gate");
        List<(DevicePlan Module, string Gate)>? levelPassSensors = null;
        foreach (var plan in _topology.Gates)
        {
            _access.EnsureGate(plan.Name, plan.AntiPassback);
            var relayBus = modbusBuses[plan.RelayBoard.Port];
            var turnstile = new ModbusTurnstile(plan.Name, relayBus, plan.RelayBoard, plan.Turnstile, plan.RelayChannelOffset, Emergency, _time, gateLogger);
            var gate = new GateController(plan.Name, turnstile, () => _snapshot, Presence, Emergency, _journal, Recorder, _time, gateLogger);
            var queue = Channel.CreateUnbounded<GateInput>(new UnboundedChannelOptions { SingleReader = true });
            foreach (var (reader, direction) in new[] { (plan.EntryReader, Direction.Entry), (plan.ExitReader, Direction.Exit) })
            {
                if (reader is null) continue;
                IReaderFeedback feedback = reader.Profile.Kind == ProfileKind.OsdpReader ? osdpBuses[reader.Port].FeedbackFor(reader) : NoFeedback.Instance;
                gate.AddReader(reader.Name, direction, feedback);
                _gateByReader[reader.Name] = (gate, queue);
            }
            if (plan.InputModule is { } inputDevice && modbusBuses[inputDevice.Port].Input(inputDevice.Name) is { } input)
            {
                var watcher = new PassSensorWatcher(gate, plan.Turnstile.EntrySensor + plan.SensorChannelOffset, plan.Turnstile.ExitSensor + plan.SensorChannelOffset,
                    () => input.CountersActive, (channel, before, now) => AgentLog.PassCounterReset(logger, inputDevice.Name, channel, before, now));
                input.Sampled += watcher.OnSample;
                input.Counted += watcher.OnCounters;
                input.HasPassSensors = true;
                if (!input.CountersActive) (levelPassSensors ??= []).Add((inputDevice, plan.Name));
            }
            foreach (var camera in plan.CameraList) gate.AddCamera(camera.Id, camera.Direction);
            _gates.Add((gate, queue));
        }
        // One line per input module whose pass sensors can miss a short pulse: IT should pick a module with counters.
        foreach (var module in (levelPassSensors ?? []).GroupBy(l => l.Module))
            AgentLog.PassSensorsOnLevel(_logger, string.Join(", ", module.Select(m => m.Gate)), module.Key.Name, module.Key.Profile.Model, module.Key.Profile.Modbus!.PollIntervalMs);
        BuildCameras();

        if (_topology.FireAlarm is { } fire && modbusBuses[fire.InputModule.Port].Input(fire.InputModule.Name) is { } fireInput)
        {
            var monitor = new FireAlarmMonitor(fire.Profile, fire.Input, Emergency, _time);
            fireInput.Sampled += monitor.OnSample;
        }
    }

    /// <summary>
    /// One supervised loop per camera, all sharing one decision window (the cooldown spans cameras). Without
    /// biometrics or without the models, the cameras stay idle with one log line saying why; cards are unaffected.
    /// </summary>
    private void BuildCameras()
    {
        var plans = _topology.Cameras.ToList();
        if (plans.Count == 0) return;
        if (_faces.Recognition is not { } recognition)
        {
            AgentLog.CamerasIgnored(_logger, plans.Count, _faces.OffReason ?? "Biometrics:Enabled is false");
            return;
        }
        if (!recognition.TryGetIdentifier(out var identifier, out var problem))
        {
            AgentLog.CamerasIdle(_logger, plans.Count, problem);
            return;
        }
        var face = _options.FaceGate ?? new FaceGateOptions();
        FaceWindow = new FaceDecisionWindow(new FaceWindowOptions
        {
            Window = TimeSpan.FromMilliseconds(face.WindowMs),
            VotesNeeded = face.VotesNeeded,
            Deadline = TimeSpan.FromMilliseconds(face.DeadlineMs),
            Cooldown = TimeSpan.FromSeconds(face.CooldownSeconds),
        }, _time);
        var logger = _loggers.CreateLogger("Kezekshi.Edge.Agent.Cameras");
        foreach (var plan in plans)
        {
            var queue = _gates.First(g => g.Gate.Name == plan.Gate).Queue;
            string actor = $"gate:{plan.Gate}:{plan.Id}";
            var camera = new CameraCredentialSource(plan,
                image => identifier.Identify(image, BiometricPurpose.Access),
                decision => identifier.RecordUse(decision, BiometricPurpose.Access, actor),
                FaceWindow,
                read =>
                {
                    queue.Writer.TryWrite(new GateInput(null, read));
                    return ValueTask.CompletedTask;
                },
                logger, _time, _faces.Frames);
            AgentLog.CameraStarting(logger, plan.Id, plan.Gate, Passage.DirectionCode(plan.Direction), plan.Url, plan.Width, plan.Height, plan.FramesPerSecond);
            _cameras.Add(camera);
            _busLoops.Add(camera.RunAsync);
        }
    }

    /// <summary>Recovers the journal, loads the snapshot and starts every loop.</summary>
    public Task StartAsync()
    {
        var leftover = ActuationJournal.ReadEntries(JournalPath);
        int recovered = Recorder.RecoverFromJournal(leftover);
        if (recovered > 0) AgentLog.JournalRecovered(_logger, recovered, JournalPath);
        _journal.Truncate();
        ReloadSnapshot();
        _access.LoadPresence(Presence);
        Interlocked.Exchange(ref _loopHeartbeat, _time.GetTimestamp());

        var token = _stop.Token;
        foreach (var loop in _busLoops) _running.Add(Task.Run(() => loop(token), CancellationToken.None));
        foreach (var (gate, queue) in _gates) _running.Add(Task.Run(() => GateLoopAsync(gate, queue, token), CancellationToken.None));
        _running.Add(Task.Run(() => EmergencyLoopAsync(token), CancellationToken.None));
        _running.Add(Task.Run(() => HousekeepingLoopAsync(token), CancellationToken.None));
        return Task.CompletedTask;
    }

    /// <summary>Rebuilds the card/schedule snapshot from the store and swaps it in (searches are never blocked).</summary>
    public void ReloadSnapshot() => _snapshot = _access.LoadSnapshot();

    private ValueTask OnCardAsync(CardRead read, CancellationToken cancellationToken)
    {
        if (!_gateByReader.TryGetValue(read.ReaderId, out var target)) return ValueTask.CompletedTask;
        if (!_debouncer.Accept(read.ReaderId, read.CardNumber, read.ReceivedTimestamp))
        {
            Interlocked.Increment(ref _debounced);
            return ValueTask.CompletedTask;
        }
        target.Queue.Writer.TryWrite(new GateInput(read, null));
        return ValueTask.CompletedTask;
    }

    private async Task GateLoopAsync(GateController gate, Channel<GateInput> queue, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var input in queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    if (input.Card is { } read) await gate.HandleCardAsync(read, cancellationToken).ConfigureAwait(false);
                    else if (input.Face is { } face) await gate.HandleFaceAsync(face, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One bad read must not take the gate down for the rest of the day.
                    AgentLog.GateLoopError(_logger, gate.Name, e);
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>
    /// Holds every gate open while the alarm is on, re-asserting every second (a relay board that
    /// rebooted mid-alarm is opened again); releases them once when it clears. Runs on its own task
    /// so that nothing the gates do can delay it.
    /// </summary>
    private async Task EmergencyLoopAsync(CancellationToken cancellationToken)
    {
        bool applied = false;
        var gates = _gates.Select(g => g.Gate).ToList();
        var failing = new HashSet<string>(StringComparer.Ordinal);
        using var wake = new SemaphoreSlim(0);
        Emergency.Changed += active =>
        {
            if (active) AgentLog.EmergencyOn(_logger, Emergency.Cause ?? "unknown");
            else AgentLog.EmergencyOff(_logger);
            wake.Release();
        };
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                bool active = Emergency.IsActive;
                bool allOk = true;
                if (active || applied)
                {
                    foreach (var gate in gates)
                    {
                        try
                        {
                            await gate.HoldOpenAsync(active, cancellationToken).ConfigureAwait(false);
                            failing.Remove(gate.Name);
                        }
                        catch (Exception e) when (e is not OperationCanceledException)
                        {
                            allOk = false;
                            if (active && failing.Add(gate.Name)) AgentLog.EmergencyHoldFailed(_logger, gate.Name, e.Message);
                        }
                    }
                    if (!active && allOk) applied = false;
                    if (active) applied = true;
                }
                var wait = active ? (allOk ? TimeSpan.FromSeconds(1) : TimeSpan.FromMilliseconds(500)) : (allOk ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(500));
                await wake.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) { }
    }

    private async Task HousekeepingLoopAsync(CancellationToken cancellationToken)
    {
        long lastRefresh = _time.GetTimestamp();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                Interlocked.Exchange(ref _loopHeartbeat, _time.GetTimestamp());
                if (_time.GetElapsedTime(lastRefresh) >= _tuning.SnapshotRefresh)
                {
                    lastRefresh = _time.GetTimestamp();
                    try { ReloadSnapshot(); }
                    catch (StoreException e) { _logger.LogError("Could not reload cards and schedules, keeping the previous ones: {Problem}", e.Message); }
                }
                await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) { }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var (_, queue) in _gates) queue.Writer.TryComplete();
        try { await Task.WhenAll(_running).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        _running.Clear();
        // Passages still waiting for a pass sensor are stored now, with outcome unknown, before the recorder stops.
        foreach (var (gate, _) in _gates) gate.AbandonWaiting();
    }

    public async ValueTask DisposeAsync()
    {
        if (_running.Count > 0) await StopAsync().ConfigureAwait(false);
        await Recorder.DisposeAsync().ConfigureAwait(false);
        _journal.Dispose();
        _stop.Dispose();
    }
}
