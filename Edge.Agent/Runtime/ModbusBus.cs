using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Devices.Profiles;
using Kezekshi.Edge.Devices.Protocols.ModbusRtu;
using Kezekshi.Edge.Devices.Transport;
using Kezekshi.Edge.Devices.Transport.Serial;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Runtime;

/// <summary>
/// An RS-485 port with Modbus RTU relay boards and input modules. Relay commands go out as urgent
/// requests (ahead of input polling); input modules are polled continuously and their samples handed
/// to the pass-sensor and fire-alarm watchers.
/// </summary>
internal sealed class ModbusBus
{
    private const int FailuresBeforeOffline = 3;

    private readonly BusPlan _bus;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly DeviceSupervisor _supervisor;
    private readonly Dictionary<string, InputModule> _inputs = new(StringComparer.Ordinal);
    private volatile ModbusRtuMaster? _current;

    public ModbusBus(BusPlan bus, ILogger logger, TimeProvider time)
    {
        _bus = bus;
        _logger = logger;
        _time = time;
        _supervisor = new DeviceSupervisor($"Modbus bus {bus.Port} ({string.Join(", ", bus.Devices.Select(d => d.Name))})", bus.Port, logger, time);
        foreach (var device in bus.Devices.Where(d => d.Profile.Kind == ProfileKind.ModbusInputModule))
            _inputs[device.Name] = new InputModule(device);
        _supervisor.PollGaps = [.. _inputs.Values.Select(i => i.PollGaps)];
    }

    public DeviceSupervisor Supervisor => _supervisor;

    /// <summary>The input module called <paramref name="name"/> on this bus, or null.</summary>
    public InputModule? Input(string name) => _inputs.GetValueOrDefault(name);

    public IEnumerable<InputModule> Inputs => _inputs.Values;

    /// <summary>The master while the port is open; a request while it is down fails with a clear message.</summary>
    public ModbusRtuMaster Master(DevicePlan device) => _current
        ?? throw new DeviceException($"{device.Name} (Modbus address {device.Address}) on {_bus.Port} is not reachable: the port is closed or being reopened; check the USB-RS485 adapter.", isTransient: true);

    public Task RunAsync(CancellationToken cancellationToken) => _supervisor.RunAsync(async (opened, ct) =>
    {
        try
        {
            await RunSessionAsync(opened, ct).ConfigureAwait(false);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            // The port is gone or cannot be opened (unplugged adapter): no input module on it can be read, which is what
            // "input module offline" means to the fire-alarm watch (assume-alarm: fail safe). The supervisor reopens it.
            ReportInputsOffline();
            throw;
        }
    }, cancellationToken);

    private void ReportInputsOffline()
    {
        foreach (var input in _inputs.Values) input.Report(new bool[input.Device.Profile.Modbus!.Channels], online: false);
    }

    private async Task RunSessionAsync(Action opened, CancellationToken ct)
    {
        await using var port = SerialPortFactory.Open(SerialSettings.For(_bus), _logger, _time);
        var options = new ModbusRtuMasterOptions { DefaultReplyTime = TimeSpan.FromMilliseconds(_bus.Line.ReplyTimeMs) };
        foreach (var device in _bus.Devices)
            options.Slaves[(byte)device.Address] = new ModbusSlaveOptions { Description = $"{device.Name} ({device.Profile.Model})" };
        await using var master = new ModbusRtuMaster(port, ownsTransport: false, options, _logger, _time);
        _current = master;
        opened();
        using var sessionEnd = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            var loops = _inputs.Values.Select(input => PollAsync(master, port, input, sessionEnd.Token)).ToList();
            loops.Add(WatchPortAsync(port, sessionEnd.Token));
            // The first loop to fail (a broken port) ends the session; the supervisor reopens the port. The other loops
            // are stopped and awaited before the master is disposed under them, so none fails unobserved.
            var first = await Task.WhenAny(loops).ConfigureAwait(false);
            await sessionEnd.CancelAsync().ConfigureAwait(false);
            foreach (var loop in loops.Where(l => l != first))
            {
                try { await loop.ConfigureAwait(false); }
                catch (Exception e) when (e is OperationCanceledException or DeviceException) { }
            }
            await first.ConfigureAwait(false);
        }
        finally
        {
            _current = null;
        }
    }

    private static async Task WatchPortAsync(IByteTransport port, CancellationToken cancellationToken)
    {
        while (!port.IsBroken) await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
        throw new TransportException($"{port.Name} stopped working (unplugged?).", isTransient: true);
    }

    private async Task PollAsync(ModbusRtuMaster master, IByteTransport port, InputModule input, CancellationToken cancellationToken)
    {
        var modbus = input.Device.Profile.Modbus!;
        var states = new bool[modbus.Channels];
        var interval = TimeSpan.FromMilliseconds(modbus.PollIntervalMs);
        // Counters: only each input's low word is read (a 16-bit difference carries every change between two polls).
        var counters = modbus.HasCounters && !input.CountersRefused ? new ushort[modbus.Channels] : null;
        var registers = counters is null ? null : new ushort[modbus.Channels * modbus.RegistersPerCounter];
        int lowWord = modbus.RegistersPerCounter == 2 && !modbus.CounterLowWordFirst ? 1 : 0;
        int failures = 0;
        long lastPoll = 0;
        int cycles = 0; // the first cycle of a session is not measured: it includes one-time start-up work (JIT, the port's first bytes)
        while (!cancellationToken.IsCancellationRequested)
        {
            long started = _time.GetTimestamp();
            if (cycles >= 2)
            {
                var gap = _time.GetElapsedTime(lastPoll, started);
                // A gap of 5 intervals or more is logged when it is a new worst (so a few lines per day at most).
                if (input.PollGaps.Record(gap) && gap >= 5 * interval && gap >= TimeSpan.FromMilliseconds(100))
                    AgentLog.PollGap(_logger, input.Device.Name, (long)gap.TotalMilliseconds, modbus.PollIntervalMs, input.PassSensorsOnLevel ? LevelPassRisk : "");
            }
            lastPoll = started;
            try
            {
                await master.ReadDiscreteInputsAsync((byte)input.Device.Address, (ushort)modbus.FirstRegister, states, ModbusPriority.Normal, cancellationToken).ConfigureAwait(false);
                if (counters is not null && !await TryReadCountersAsync(master, input, registers!, cancellationToken).ConfigureAwait(false))
                {
                    counters = null;
                }
                failures = 0;
                input.Report(states, online: true);
                if (counters is not null)
                {
                    for (int i = 0; i < counters.Length; i++) counters[i] = registers![i * modbus.RegistersPerCounter + lowWord];
                    input.ReportCounters(counters);
                }
            }
            catch (DeviceException) when (!port.IsBroken)
            {
                // The master already logged the reason (rate-limited); after a few misses the module counts as offline.
                if (++failures >= FailuresBeforeOffline) input.Report(states, online: false);
            }
            long polled = _time.GetTimestamp();
            await Task.Delay(interval, _time, cancellationToken).ConfigureAwait(false);
            // What made the gap: the bus (exchange), or the PC not running the loop when its timer was due (wake-up).
            var late = _time.GetElapsedTime(polled) - interval;
            if (cycles >= 1) input.PollGaps.RecordParts(_time.GetElapsedTime(started, polled), late > TimeSpan.Zero ? late : TimeSpan.Zero, ThreadPool.PendingWorkItemCount);
            if (cycles < 2) cycles++;
        }
    }

    private const string LevelPassRisk = " A pass-sensor pulse inside such a gap is missed on a level input and its passage stored as not passed: use an input module with pulse counters (see docs/operations.md).";

    /// <summary>Reads the counter registers; false (logged once) when the module refuses them: the profile names registers it does not have.</summary>
    private async Task<bool> TryReadCountersAsync(ModbusRtuMaster master, InputModule input, ushort[] registers, CancellationToken cancellationToken)
    {
        var modbus = input.Device.Profile.Modbus!;
        try
        {
            if (modbus.CounterTable == InputCounterTable.InputRegisters)
                await master.ReadInputRegistersAsync((byte)input.Device.Address, (ushort)modbus.FirstCounterRegister, registers, ModbusPriority.Normal, cancellationToken).ConfigureAwait(false);
            else
                await master.ReadHoldingRegistersAsync((byte)input.Device.Address, (ushort)modbus.FirstCounterRegister, registers, ModbusPriority.Normal, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ModbusException e)
        {
            // An exception reply is an answer, not a lost module: the levels still work (the fire alarm too), so the pass
            // sensors fall back to them rather than the module being reported offline (which would free every gate).
            input.RefuseCounters();
            AgentLog.CountersRefused(_logger, input.Device.Name, input.Device.Profile.Model, e.Message);
            return false;
        }
    }

    /// <summary>One input module's latest sample and who listens to it.</summary>
    internal sealed class InputModule(DevicePlan device)
    {
        public DevicePlan Device { get; } = device;

        public bool Online { get; private set; }

        /// <summary>The time between polls, for the IT console.</summary>
        public PollGapMeter PollGaps { get; } = new(device.Name, TimeSpan.FromMilliseconds(device.Profile.Modbus!.PollIntervalMs));

        /// <summary>True when the module's counters are read for the pass sensors (its profile has them and it did not refuse them).</summary>
        public bool CountersActive => Device.Profile.Modbus!.HasCounters && !CountersRefused;

        /// <summary>The module answered the counter registers with an exception: the pass sensors use levels until the agent restarts.</summary>
        public bool CountersRefused { get; private set; }

        /// <summary>True when a gate's pass sensors are on this module and read from the level (can miss a short pulse).</summary>
        public bool PassSensorsOnLevel => HasPassSensors && !CountersActive;

        /// <summary>Set when a gate's pass sensors are wired to this module.</summary>
        public bool HasPassSensors
        {
            get => _hasPassSensors;
            set
            {
                _hasPassSensors = value;
                UpdatePassSensorInput();
            }
        }

        private bool _hasPassSensors;

        private void UpdatePassSensorInput() => PollGaps.PassSensorInput = !_hasPassSensors ? null : CountersActive ? "counter" : "level";

        /// <summary>Called after every poll with the inputs (index 0 = channel 1) and whether the module answered.</summary>
        public event Action<bool[], bool>? Sampled;

        /// <summary>Called after every poll whose counters were read, with each input's counter (low 16 bits; index 0 = channel 1).</summary>
        public event Action<ushort[]>? Counted;

        public void Report(bool[] states, bool online)
        {
            Online = online;
            Sampled?.Invoke(states, online);
        }

        public void ReportCounters(ushort[] counters) => Counted?.Invoke(counters);

        public void RefuseCounters()
        {
            CountersRefused = true;
            UpdatePassSensorInput();
        }
    }
}

/// <summary>A turnstile's relays on a Modbus relay board.</summary>
internal sealed class ModbusTurnstile : ITurnstile
{
    private readonly ModbusBus _bus;
    private readonly DevicePlan _board;
    private readonly TurnstileProfile _profile;
    private readonly int _offset;
    private readonly EmergencyState _emergency;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _gate;
    private readonly int[] _pulseGeneration = new int[65];

    public ModbusTurnstile(string gate, ModbusBus bus, DevicePlan board, TurnstileProfile profile, int relayChannelOffset, EmergencyState emergency, TimeProvider time, ILogger logger)
    {
        _gate = gate;
        _bus = bus;
        _board = board;
        _profile = profile;
        _offset = relayChannelOffset;
        _emergency = emergency;
        _time = time;
        _logger = logger;
    }

    public TimeSpan PassTime => TimeSpan.FromMilliseconds(_profile.PassTimeMs);

    private ushort Coil(int channel) => (ushort)(_board.Profile.Modbus!.FirstRegister + channel + _offset - 1);

    public async ValueTask PulseAsync(Direction direction, CancellationToken cancellationToken)
    {
        int channel = direction == Direction.Entry ? _profile.EntryRelay : _profile.ExitRelay;
        int generation = Interlocked.Increment(ref _pulseGeneration[channel]);
        await _bus.Master(_board).WriteSingleCoilAsync((byte)_board.Address, Coil(channel), true, ModbusPriority.Urgent, cancellationToken).ConfigureAwait(false);
        _ = ReleaseAfterPulseAsync(channel, generation, cancellationToken);
    }

    private async Task ReleaseAfterPulseAsync(int channel, int generation, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(_profile.PulseMs), _time, cancellationToken).ConfigureAwait(false);
            // A newer pulse on the same relay owns it now; in an emergency the relay stays closed.
            if (_emergency.IsActive || Volatile.Read(ref _pulseGeneration[channel]) != generation) return;
            // Releasing the relay is not urgent (a few ms longer pulse is harmless): it must not delay another gate's grant.
            await _bus.Master(_board).WriteSingleCoilAsync((byte)_board.Address, Coil(channel), false, ModbusPriority.Normal, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        catch (Exception e) when (e is DeviceException)
        {
            // A relay left closed frees the arm for longer: safe, but tell IT.
            AgentLog.RelayFailed(_logger, _gate, "could not open the relay after the pulse: " + e.Message);
        }
    }

    public async ValueTask HoldOpenAsync(bool open, CancellationToken cancellationToken)
    {
        var master = _bus.Master(_board);
        if (_profile.EmergencyRelay is { } emergencyRelay)
        {
            await master.WriteSingleCoilAsync((byte)_board.Address, Coil(emergencyRelay), open, ModbusPriority.Urgent, cancellationToken).ConfigureAwait(false);
            return;
        }
        await master.WriteSingleCoilAsync((byte)_board.Address, Coil(_profile.EntryRelay), open, ModbusPriority.Urgent, cancellationToken).ConfigureAwait(false);
        await master.WriteSingleCoilAsync((byte)_board.Address, Coil(_profile.ExitRelay), open, ModbusPriority.Urgent, cancellationToken).ConfigureAwait(false);
    }
}
