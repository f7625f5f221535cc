namespace Kezekshi.Edge.Agent.Configuration;

/// <summary>The agent's configuration: section "Edge" of appsettings.json, environment (EDGE__…) or command line (--Edge:…).</summary>
public sealed class EdgeOptions
{
    public const string Section = "Edge";

    /// <summary>The school's ID at the centre, e.g. "kz-ala-school-042".</summary>
    public string SchoolId { get; set; } = "";

    /// <summary>Where the database and the actuation journal live.</summary>
    public string DataDirectory { get; set; } = "/var/lib/kezekshi";

    /// <summary>The SQLite file; default &lt;DataDirectory&gt;/edge.db.</summary>
    public string? DatabasePath { get; set; }

    /// <summary>Folder of device model files; default: hardware-profiles next to the executable.</summary>
    public string? HardwareProfilesDirectory { get; set; }

    /// <summary>The same card at the same reader within this window is ignored.</summary>
    public int DebounceMs { get; set; } = 1500;

    /// <summary>Every device: a reader, a relay board, an input module.</summary>
    public List<DeviceOptions> Devices { get; set; } = [];

    public List<GateOptions> Gates { get; set; } = [];

    public FireAlarmOptions? FireAlarm { get; set; }

    /// <summary>Sync with the centre; off when no broker is configured.</summary>
    public SyncOptions Sync { get; set; } = new();

    public string ResolvedDatabasePath => DatabasePath ?? Path.Combine(DataDirectory, "edge.db");

    public string ResolvedProfilesDirectory => HardwareProfilesDirectory ?? Path.Combine(AppContext.BaseDirectory, "hardware-profiles");
}

/// <summary>One physical device on a serial port.</summary>
public sealed class DeviceOptions
{
    /// <summary>A name IT chooses, used in gates and logs: "gate1-in-reader".</summary>
    public string Name { get; set; } = "";

    /// <summary>The hardware profile's model: "generic-osdp-reader".</summary>
    public string Profile { get; set; } = "";

    /// <summary>The serial port: /dev/ttyUSB0, /dev/serial/by-id/…, COM3. Devices on one RS-485 bus share it.</summary>
    public string Port { get; set; } = "";

    /// <summary>Bus address (OSDP 0–126, Modbus 1–247); default: the profile's.</summary>
    public int? Address { get; set; }

    /// <summary>Overrides the profile's baud rate (all devices on one port must agree).</summary>
    public int? BaudRate { get; set; }
}

/// <summary>A turnstile, speed gate or door with its readers.</summary>
public sealed class GateOptions
{
    public string Name { get; set; } = "";

    /// <summary>The turnstile profile's model: "tripod-turnstile".</summary>
    public string Turnstile { get; set; } = "";

    /// <summary>The relay board device this gate's relays are on.</summary>
    public string RelayBoard { get; set; } = "";

    /// <summary>The input module its pass sensors are wired to (optional: without it a grant counts as passed).</summary>
    public string? InputModule { get; set; }

    /// <summary>Added to the profile's relay channels, for a second turnstile on the same board.</summary>
    public int RelayChannelOffset { get; set; }

    /// <summary>Added to the profile's sensor channels.</summary>
    public int SensorChannelOffset { get; set; }

    public string? EntryReader { get; set; }

    public string? ExitReader { get; set; }

    /// <summary>off, soft (allow, flag) or hard (refuse).</summary>
    public string AntiPassback { get; set; } = "soft";
}

/// <summary>The fire-alarm contact.</summary>
public sealed class FireAlarmOptions
{
    public string Profile { get; set; } = "fire-alarm-nc";

    public string InputModule { get; set; } = "";

    /// <summary>1-based input channel.</summary>
    public int Input { get; set; }
}
