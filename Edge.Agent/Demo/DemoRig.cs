using System.Collections.Concurrent;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Devices.Cards;
using Kezekshi.Edge.Devices.Protocols.LineReader;
using Kezekshi.Edge.Devices.Protocols.ModbusRtu;
using Kezekshi.Edge.Devices.Protocols.Osdp;
using Kezekshi.Edge.Devices.Transport;
using Kezekshi.Edge.Devices.Transport.Pty;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Demo;

/// <summary>
/// The demo school's hardware, simulated on real pseudo-terminals: an RS-485 bus with four OSDP
/// readers (two tripod turnstiles, in and out), an RS-485 bus with a Modbus relay board and input
/// module, and a USB line reader at the staff door. The agent opens the pseudo-terminals' device
/// paths as ordinary serial ports, so everything from termios up is the production code.
/// </summary>
/// <remarks>
/// Wiring: relay board (slave 1) channels 1/2 = gate1 entry/exit, 3/4 = gate2, 5/6 = staff door,
/// 7 = staff-door emergency release; input module (slave 2) inputs 1/2 = gate1 pass sensors,
/// 3/4 = gate2, 5/6 = staff door, 8 = fire-alarm contact (normally closed). The input module counts rising edges
/// per input in input registers 0–7 (profile "modbus-input-8ch-counter"), as DI modules with a counter mode do.
/// The simulated turnstiles turn a relay pulse into a pass-sensor pulse, as a pupil walking through.
/// </remarks>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DemoRig : IAsyncDisposable
{
    public const byte RelaySlave = 1;
    public const byte InputSlave = 2;
    public const int FireAlarmInput = 8;

    /// <summary>OSDP addresses: gate1 in/out, gate2 in/out.</summary>
    public static readonly (string Reader, byte Address)[] OsdpReaders = [("gate1-in", 1), ("gate1-out", 2), ("gate2-in", 3), ("gate2-out", 4)];

    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly ConcurrentDictionary<int, long> _relayOn = new();

    private DemoRig(int baudRate)
    {
        BaudRate = baudRate;
        OsdpPty = PseudoTerminal.Open(baudRate);
        ModbusPty = PseudoTerminal.Open(baudRate);
        LinePty = PseudoTerminal.Open(9600);
        OsdpWire = new TappedTransport(OsdpPty.Master);
        ModbusWire = new TappedTransport(ModbusPty.Master);
        Readers = new OsdpPeripheralSimulator(OsdpWire);
        foreach (var (_, address) in OsdpReaders) Readers.AddDevice(address);
        Modules = new ModbusSlaveSimulator(ModbusWire, ownsTransport: false, logger: NullLogger.Instance);
        Modules.AddSlave(RelaySlave, coils: 8, discreteInputs: 8);
        Modules.AddSlave(InputSlave, coils: 8, discreteInputs: 8, inputRegisters: 8).CountRisingEdges(ModbusRegisterTable.InputRegisters, firstRegister: 0);
        Modules.SetDiscreteInput(InputSlave, FireAlarmInput - 1, true); // the alarm loop is closed: no alarm
        StaffDoor = new LineReaderSimulator(LinePty.Master, LineReaderPort(9600));
        Modules.CoilChanged += OnCoilChanged;
    }

    public int BaudRate { get; }
    public PseudoTerminal OsdpPty { get; }
    public PseudoTerminal ModbusPty { get; }
    public PseudoTerminal LinePty { get; }

    /// <summary>The readers' end of the OSDP bus, with write timestamps.</summary>
    public TappedTransport OsdpWire { get; }

    /// <summary>The modules' end of the Modbus bus, with read timestamps.</summary>
    public TappedTransport ModbusWire { get; }

    public OsdpPeripheralSimulator Readers { get; }
    public ModbusSlaveSimulator Modules { get; }
    public LineReaderSimulator StaffDoor { get; }

    /// <summary>When false, the simulated turnstiles never report a pass (the benchmark's choice).</summary>
    public bool PupilsWalkThrough { get; set; } = true;

    /// <summary>
    /// How long the simulated pass sensor stays on when a pupil walks through (80 ms, a typical tripod's pass output).
    /// <see cref="TimeSpan.Zero"/> is a pulse shorter than any poll (<see cref="ModbusSlaveModel.PulseDiscreteInput"/>):
    /// the input module's counter sees it, its level never does.
    /// </summary>
    public TimeSpan PassPulse { get; set; } = TimeSpan.FromMilliseconds(80);

    /// <summary>The input module's profile in <see cref="CreateOptions"/>: with counters (default), or "modbus-input-8ch" for levels only.</summary>
    public string InputModuleProfile { get; set; } = "modbus-input-8ch-counter";

    /// <summary>Every Nth released arm is not walked through (a pupil who changed their mind); 0 = never.</summary>
    public int HesitateEvery { get; set; }

    private int _releases;

    public static LineReaderOptions LineReaderPort(int _) => new() { NumberFormat = LineNumberFormat.Decimal, Terminator = "\r\n" };

    /// <summary>Opens the pseudo-terminals and starts the simulators.</summary>
    public static DemoRig Start(int baudRate = 115200)
    {
        var rig = new DemoRig(baudRate);
        var token = rig._stop.Token;
        rig._tasks.Add(Task.Run(() => rig.Readers.RunAsync(token), CancellationToken.None));
        rig._tasks.Add(Task.Run(() => rig.Modules.RunAsync(token), CancellationToken.None));
        return rig;
    }

    /// <summary>The agent configuration for this rig: ports are the pseudo-terminals' device paths.</summary>
    public EdgeOptions CreateOptions(string dataDirectory) => new()
    {
        SchoolId = DemoSchool.SchoolId,
        DataDirectory = dataDirectory,
        DebounceMs = 1500,
        Devices =
        [
            .. OsdpReaders.Select(r => new DeviceOptions { Name = r.Reader, Profile = "generic-osdp-reader", Port = OsdpPty.SlavePath, Address = r.Address, BaudRate = BaudRate }),
            new DeviceOptions { Name = "relays", Profile = "modbus-relay-8ch", Port = ModbusPty.SlavePath, Address = RelaySlave, BaudRate = BaudRate },
            new DeviceOptions { Name = "inputs", Profile = InputModuleProfile, Port = ModbusPty.SlavePath, Address = InputSlave, BaudRate = BaudRate },
            new DeviceOptions { Name = "staff-door-reader", Profile = "usb-line-reader-em", Port = LinePty.SlavePath },
        ],
        Gates =
        [
            new GateOptions { Name = "gate1", Turnstile = "tripod-turnstile", RelayBoard = "relays", InputModule = "inputs", EntryReader = "gate1-in", ExitReader = "gate1-out", AntiPassback = "soft" },
            new GateOptions { Name = "gate2", Turnstile = "tripod-turnstile", RelayBoard = "relays", InputModule = "inputs", RelayChannelOffset = 2, SensorChannelOffset = 2, EntryReader = "gate2-in", ExitReader = "gate2-out", AntiPassback = "hard" },
            new GateOptions { Name = "staff-door", Turnstile = "speed-gate", RelayBoard = "relays", InputModule = "inputs", RelayChannelOffset = 4, SensorChannelOffset = 4, EntryReader = "staff-door-reader", AntiPassback = "off" },
        ],
        FireAlarm = new FireAlarmOptions { Profile = "fire-alarm-nc", InputModule = "inputs", Input = FireAlarmInput },
    };

    /// <summary>A pupil, staff member or visitor presents a Wiegand-26 card to OSDP reader <paramref name="address"/>.</summary>
    public void Tap(byte address, ulong canonicalCard) =>
        Readers.PresentCard(address, Wiegand.Encode26((byte)(canonicalCard >> 16), (ushort)canonicalCard), 26);

    /// <summary>A card that fails the Wiegand parity check (a bad read).</summary>
    public void TapGarbled(byte address, ulong canonicalCard) =>
        Readers.PresentCard(address, Wiegand.Encode26((byte)(canonicalCard >> 16), (ushort)canonicalCard) ^ 1, 26);

    /// <summary>The fire-alarm panel opens (true) or closes (false) its contact.</summary>
    public void FireAlarm(bool alarm) => Modules.SetDiscreteInput(InputSlave, FireAlarmInput - 1, !alarm);

    /// <summary>Whether a relay channel (1-based) is closed on the board.</summary>
    public bool RelayClosed(int channel) => Modules[RelaySlave].GetCoil(channel - 1);

    private void OnCoilChanged(object? sender, ModbusCoilChangedEventArgs e)
    {
        var change = e.Change;
        if (change.Slave != RelaySlave || !change.Value) return;
        int channel = change.Coil + 1;
        if (channel > 6 || !PupilsWalkThrough) return;
        if (HesitateEvery > 0 && Interlocked.Increment(ref _releases) % HesitateEvery == 0) return;
        // Relays 1..6 and inputs 1..6 are wired one to one: the pupil pushes the arm and the sensor pulses.
        _ = Task.Run(async () =>
        {
            await Task.Delay(120).ConfigureAwait(false);
            var pulse = PassPulse;
            if (pulse <= TimeSpan.Zero)
            {
                Modules.PulseDiscreteInput(InputSlave, channel - 1);
                return;
            }
            Modules.SetDiscreteInput(InputSlave, channel - 1, true);
            await Task.Delay(pulse).ConfigureAwait(false);
            Modules.SetDiscreteInput(InputSlave, channel - 1, false);
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await Task.WhenAll(_tasks).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        catch (DeviceException) { }
        catch (ObjectDisposedException) { } // a bus "unplugged" with UnplugAsync: its simulator's reads failed
        await Readers.DisposeAsync().ConfigureAwait(false);
        await Modules.DisposeAsync().ConfigureAwait(false);
        await OsdpPty.DisposeAsync().ConfigureAwait(false);
        await ModbusPty.DisposeAsync().ConfigureAwait(false);
        await LinePty.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
