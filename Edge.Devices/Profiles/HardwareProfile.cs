using System.Text.Json.Serialization;

namespace Kezekshi.Edge.Devices.Profiles;

/// <summary>What a hardware profile describes.</summary>
public enum ProfileKind
{
    [JsonStringEnumMemberName("osdp-reader")] OsdpReader,
    [JsonStringEnumMemberName("modbus-relay-board")] ModbusRelayBoard,
    [JsonStringEnumMemberName("modbus-input-module")] ModbusInputModule,
    [JsonStringEnumMemberName("line-reader")] LineReader,
    [JsonStringEnumMemberName("turnstile")] Turnstile,
    [JsonStringEnumMemberName("fire-alarm-input")] FireAlarmInput,
}

/// <summary>
/// One device model, loaded from a file in <c>hardware-profiles/</c>: how to talk to it and how it is wired.
/// Exactly one of the kind-specific sections is present, matching <see cref="Kind"/>.
/// </summary>
/// <remarks>
/// Profiles are data, not code, so that supporting another reader or relay board is a new file that
/// school IT or an integrator can write, checked against <see cref="HardwareProfileSchema"/> on load.
/// The kind-specific section records use <c>set</c>, not <c>init</c>: the System.Text.Json source
/// generator assigns every init-only property in one object initializer, so a field left out of the
/// file got <c>default</c> (0 data bits, a null line suffix, CRC off, a 0 ms poll) instead of the
/// default written on the property (dotnet/runtime#84484). Treat a loaded profile as read-only.
/// </remarks>
public sealed record HardwareProfile
{
    public int SchemaVersion { get; init; }
    public required string Model { get; init; }
    public ProfileKind Kind { get; init; }
    public string? Manufacturer { get; init; }
    public string? Description { get; init; }
    public SerialLineProfile? Serial { get; init; }
    public OsdpReaderProfile? Osdp { get; init; }
    public ModbusModuleProfile? Modbus { get; init; }
    public LineReaderProfile? LineReader { get; init; }
    public TurnstileProfile? Turnstile { get; init; }
    public FireAlarmProfile? FireAlarm { get; init; }

    /// <summary>The file the profile came from, for error messages.</summary>
    [JsonIgnore] public string SourceFile { get; init; } = "";
}

public enum SerialParity
{
    [JsonStringEnumMemberName("none")] None,
    [JsonStringEnumMemberName("even")] Even,
    [JsonStringEnumMemberName("odd")] Odd,
}

/// <summary>The serial line a device speaks: speed, framing, and whether it is an RS-485 bus.</summary>
public sealed record SerialLineProfile
{
    public int BaudRate { get; set; } = 9600;
    public int DataBits { get; set; } = 8;
    public SerialParity Parity { get; set; } = SerialParity.None;
    public int StopBits { get; set; } = 1;
    /// <summary>True for a two-wire RS-485 bus (half duplex: direction control needed).</summary>
    public bool Rs485 { get; set; }
    /// <summary>How long the device takes to start answering after a request, in milliseconds.</summary>
    public int ReplyTimeMs { get; set; } = 50;
}

/// <summary>OSDP card reader specifics.</summary>
public sealed record OsdpReaderProfile
{
    public int DefaultAddress { get; set; }
    public bool UseCrc { get; set; } = true;
    public int GrantLedColour { get; set; } = 2;
    public int DenyLedColour { get; set; } = 1;
    public int GrantLedMs { get; set; } = 1000;
    public int DenyBeeps { get; set; } = 2;
    public bool HasKeypad { get; set; }
}

/// <summary>A Modbus RTU relay board or input module.</summary>
public sealed record ModbusModuleProfile
{
    public int DefaultAddress { get; set; } = 1;
    public int Channels { get; set; } = 8;
    /// <summary>Modbus address of channel 1 (coils for relay boards, discrete inputs for input modules).</summary>
    public int FirstRegister { get; set; }
    /// <summary>How often an input module is read, in milliseconds.</summary>
    public int PollIntervalMs { get; set; } = 20;
    /// <summary>
    /// Where an input module keeps a pulse counter per input (DI modules with a counter mode count rising edges in
    /// registers), or <see cref="InputCounterTable.None"/> for a module that only shows the present level.
    /// </summary>
    /// <remarks>
    /// A counter cannot miss a pass: the module counts the pulse itself, however short it is and however late the
    /// agent reads. A level is only seen if a poll lands inside the pulse.
    /// </remarks>
    public InputCounterTable CounterTable { get; set; } = InputCounterTable.None;
    /// <summary>Register address of input 1's counter; input n's counter is at this + (n-1) × <see cref="RegistersPerCounter"/>.</summary>
    public int FirstCounterRegister { get; set; }
    /// <summary>1 for 16-bit counters, 2 for 32-bit counters in two registers (only the low word is read: it carries every change).</summary>
    public int RegistersPerCounter { get; set; } = 1;
    /// <summary>For 32-bit counters: true when the low word is the first of the two registers.</summary>
    public bool CounterLowWordFirst { get; set; } = true;

    /// <summary>True when the module has per-input pulse counters.</summary>
    [JsonIgnore] public bool HasCounters => CounterTable != InputCounterTable.None;
}

/// <summary>The register table an input module keeps its pulse counters in.</summary>
public enum InputCounterTable
{
    [JsonStringEnumMemberName("none")] None,
    [JsonStringEnumMemberName("input-registers")] InputRegisters,
    [JsonStringEnumMemberName("holding-registers")] HoldingRegisters,
}

public enum CardNumberFormat
{
    [JsonStringEnumMemberName("decimal")] Decimal,
    [JsonStringEnumMemberName("hex")] Hex,
}

public enum Wiegand26Conversion
{
    [JsonStringEnumMemberName("none")] None,
    [JsonStringEnumMemberName("from-frame")] FromFrame,
    [JsonStringEnumMemberName("from-em-marine")] FromEmMarine,
}

/// <summary>A USB-serial reader that prints one card number per line.</summary>
public sealed record LineReaderProfile
{
    public string Prefix { get; set; } = "";
    public string Suffix { get; set; } = "\r\n";
    public CardNumberFormat NumberFormat { get; set; } = CardNumberFormat.Decimal;
    public Wiegand26Conversion Wiegand26 { get; set; } = Wiegand26Conversion.None;
    public int DebounceMs { get; set; } = 1500;
}

public enum TurnstileType
{
    [JsonStringEnumMemberName("tripod")] Tripod,
    [JsonStringEnumMemberName("speed-gate")] SpeedGate,
    [JsonStringEnumMemberName("door")] Door,
}

/// <summary>How a turnstile is wired: which relay frees which direction, which input sees a passage.</summary>
public sealed record TurnstileProfile
{
    public TurnstileType Type { get; set; }
    /// <summary>Relay channel (1-based) that frees the entry direction.</summary>
    public int EntryRelay { get; set; } = 1;
    /// <summary>Relay channel (1-based) that frees the exit direction.</summary>
    public int ExitRelay { get; set; } = 2;
    /// <summary>How long the relay is closed; tripod controllers need at least 100 ms to latch.</summary>
    public int PulseMs { get; set; } = 200;
    /// <summary>Input channel (1-based) of the pass sensor for entry.</summary>
    public int EntrySensor { get; set; } = 1;
    /// <summary>Input channel (1-based) of the pass sensor for exit.</summary>
    public int ExitSensor { get; set; } = 2;
    /// <summary>How long a pupil has to pass after the arm is freed before the passage counts as not made.</summary>
    public int PassTimeMs { get; set; } = 5000;
    /// <summary>Optional relay channel that drops the arm / opens the wings fully for an emergency.</summary>
    public int? EmergencyRelay { get; set; }
}

public enum ContactType
{
    [JsonStringEnumMemberName("normally-open")] NormallyOpen,
    [JsonStringEnumMemberName("normally-closed")] NormallyClosed,
}

public enum InputLossBehaviour
{
    [JsonStringEnumMemberName("assume-alarm")] AssumeAlarm,
    [JsonStringEnumMemberName("keep-last-state")] KeepLastState,
}

/// <summary>The fire-alarm panel's dry contact wired to an input module.</summary>
public sealed record FireAlarmProfile
{
    public ContactType Contact { get; set; } = ContactType.NormallyClosed;
    /// <summary>The contact must stay in the alarm state this long before the alarm is believed (noise on long wires).</summary>
    public int DebounceMs { get; set; } = 100;
    /// <summary>What to do when the input module stops answering. "assume-alarm" frees every gate: fail safe.</summary>
    public InputLossBehaviour OnInputModuleOffline { get; set; } = InputLossBehaviour.AssumeAlarm;
}
