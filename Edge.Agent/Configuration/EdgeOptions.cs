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

    /// <summary>Timing of face decisions at the gates (used only when cameras are configured and biometrics are on).</summary>
    public FaceGateOptions FaceGate { get; set; } = new();

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

    /// <summary>Cameras that recognise pupils' faces at this gate (only with biometrics on: Biometrics:Enabled and the DPIA).</summary>
    public List<CameraOptions> Cameras { get; set; } = [];
}

/// <summary>A camera at a gate: <c>Edge:Gates:N:Cameras:M</c>. ffmpeg reads it (a file, a V4L2 device or an RTSP URL).</summary>
public sealed class CameraOptions
{
    /// <summary>A name IT chooses, used in logs and on the console: "gate1-in-camera". Unique across gates.</summary>
    public string Id { get; set; } = "";

    /// <summary>"entry" or "exit": which relay a recognised face frees.</summary>
    public string Direction { get; set; } = "entry";

    /// <summary>/dev/video0, rtsp://user:pass@10.0.0.21/stream1, or a video file (demo, tests).</summary>
    public string Url { get; set; } = "";

    /// <summary>Frame size ffmpeg scales to; the face detector works on 128×128, so 640×480 is plenty.</summary>
    public int Width { get; set; } = 640;

    public int Height { get; set; } = 480;

    /// <summary>Frames per second taken from the camera. Only the newest frame is processed, so more frames do not queue up.</summary>
    public int FramesPerSecond { get; set; } = 10;

    /// <summary>Replay a file forever (the demo's video). Ignored for devices and network cameras.</summary>
    public bool Loop { get; set; }
}

/// <summary><c>Edge:FaceGate</c>: how frames turn into a gate decision (see docs/biometrics.md, "The face gate").</summary>
public sealed class FaceGateOptions
{
    /// <summary>Frames captured longer ago than this before the newest one no longer vote.</summary>
    public int WindowMs { get; set; } = 500;

    /// <summary>Agreeing frames needed before the gate opens (one lucky frame of a look-alike must not).</summary>
    public int VotesNeeded { get; set; } = 2;

    /// <summary>A decision whose deciding frame is older than this when the relay would pulse never actuates.</summary>
    public int DeadlineMs { get; set; } = 300;

    /// <summary>After a pupil is let through by face, further face decisions for them (any camera) are ignored this long.</summary>
    public int CooldownSeconds { get; set; } = 5;
}

/// <summary>The fire-alarm contact.</summary>
public sealed class FireAlarmOptions
{
    public string Profile { get; set; } = "fire-alarm-nc";

    public string InputModule { get; set; } = "";

    /// <summary>1-based input channel.</summary>
    public int Input { get; set; }
}
