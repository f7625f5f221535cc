using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Devices.Profiles;

namespace Kezekshi.Edge.Agent.Configuration;

/// <summary>The protocol spoken on one serial port (every device on a port speaks the same one).</summary>
public enum BusProtocol { Osdp, ModbusRtu, LineReader }

/// <summary>A device resolved against its profile.</summary>
public sealed record DevicePlan(string Name, HardwareProfile Profile, string Port, int Address);

/// <summary>A serial port and the devices on it.</summary>
public sealed record BusPlan(string Port, BusProtocol Protocol, SerialLineProfile Line, int BaudRate, IReadOnlyList<DevicePlan> Devices);

/// <summary>A gate with everything it is wired to.</summary>
public sealed record GatePlan(string Name, TurnstileProfile Turnstile, DevicePlan RelayBoard, DevicePlan? InputModule,
    int RelayChannelOffset, int SensorChannelOffset, DevicePlan? EntryReader, DevicePlan? ExitReader, AntiPassbackMode AntiPassback,
    IReadOnlyList<CameraPlan>? Cameras = null)
{
    /// <summary>The gate's cameras (none when the gate is card-only).</summary>
    public IReadOnlyList<CameraPlan> CameraList => Cameras ?? [];
}

/// <summary>A validated camera at a gate.</summary>
public sealed record CameraPlan(string Id, string Gate, Direction Direction, string Url, int Width, int Height, int FramesPerSecond, bool Loop);

public sealed record FireAlarmPlan(FireAlarmProfile Profile, DevicePlan InputModule, int Input);

/// <summary>
/// The configuration checked against the hardware profiles and resolved into buses, gates and the
/// fire alarm. Every mistake is collected, each naming the setting and the fix; <c>doctor</c> prints
/// them and <c>run</c> refuses to start with them.
/// </summary>
public sealed class GateTopology
{
    private GateTopology(IReadOnlyList<BusPlan> buses, IReadOnlyList<GatePlan> gates, FireAlarmPlan? fireAlarm)
    {
        Buses = buses;
        Gates = gates;
        FireAlarm = fireAlarm;
    }

    public IReadOnlyList<BusPlan> Buses { get; }
    public IReadOnlyList<GatePlan> Gates { get; }
    public FireAlarmPlan? FireAlarm { get; }

    /// <summary>Every camera of every gate.</summary>
    public IEnumerable<CameraPlan> Cameras => Gates.SelectMany(g => g.CameraList);

    /// <summary>Resolves the configuration; returns null and fills <paramref name="problems"/> if anything is wrong.</summary>
    public static GateTopology? Build(EdgeOptions options, HardwareProfileCatalog catalog, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(problems);
        int before = problems.Count;

        if (string.IsNullOrWhiteSpace(options.SchoolId))
            problems.Add("Edge:SchoolId is empty: set the school's ID from the centre, e.g. \"kz-ala-school-042\".");
        if (options.DebounceMs is < 0 or > 60000)
            problems.Add($"Edge:DebounceMs = {options.DebounceMs} is out of range 0–60000: 1500 ignores a card held on the reader.");

        var devices = new Dictionary<string, DevicePlan>(StringComparer.Ordinal);
        // The setting each device came from, so bus problems name what to edit; and the devices whose own
        // problem is already reported, so a gate that uses one does not add a misleading "not a device".
        var settingOf = new Dictionary<string, string>(StringComparer.Ordinal);
        var rejected = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < options.Devices.Count; i++)
        {
            var d = options.Devices[i];
            string where = $"Edge:Devices[{i}]{(string.IsNullOrEmpty(d.Name) ? "" : $" (\"{d.Name}\")")}";
            if (string.IsNullOrWhiteSpace(d.Name)) { problems.Add($"{where}: Name is empty: give the device a name such as \"gate1-reader\"."); continue; }
            if (!settingOf.TryAdd(d.Name, where)) { problems.Add($"{where}: the name \"{d.Name}\" is used twice; device names must be unique."); continue; }
            if (string.IsNullOrWhiteSpace(d.Port)) problems.Add($"{where}: Port is empty: set the serial port, e.g. /dev/ttyUSB0 or /dev/serial/by-id/usb-FTDI_… (Linux), COM3 (Windows).");
            if (!catalog.TryGet(d.Profile, out var profile))
            {
                problems.Add($"{where}: Profile \"{d.Profile}\" is not a known hardware profile; known: {string.Join(", ", catalog.Profiles.Where(p => p.Serial is not null).Select(p => p.Model).Order(StringComparer.Ordinal))}.");
                rejected.Add(d.Name);
                continue;
            }
            if (profile.Serial is null)
            {
                problems.Add($"{where}: Profile \"{d.Profile}\" is a {HardwareProfileCatalog.KindName(profile.Kind)}, which is not on a serial port; use it in a gate (Turnstile) or in FireAlarm instead.");
                rejected.Add(d.Name);
                continue;
            }
            int address = d.Address ?? profile.Kind switch
            {
                ProfileKind.OsdpReader => profile.Osdp!.DefaultAddress,
                ProfileKind.LineReader => 0,
                _ => profile.Modbus!.DefaultAddress,
            };
            if (profile.Kind == ProfileKind.OsdpReader && address is < 0 or > 126)
                problems.Add($"{where}: Address {address} is not a valid OSDP address (0–126).");
            if (profile.Kind is ProfileKind.ModbusRelayBoard or ProfileKind.ModbusInputModule && address is < 1 or > 247)
                problems.Add($"{where}: Address {address} is not a valid Modbus slave address (1–247).");
            if (d.BaudRate is { } baud && Array.IndexOf(StandardBaudRates, baud) < 0)
                problems.Add($"{where}: BaudRate {baud} is not a standard rate ({string.Join(", ", StandardBaudRates)}).");
            devices[d.Name] = new DevicePlan(d.Name, profile, d.Port, address);
        }

        var buses = new List<BusPlan>();
        foreach (var group in devices.Values.Where(d => d.Port.Length > 0).GroupBy(d => d.Port, StringComparer.Ordinal))
        {
            var members = group.ToList();
            var protocols = members.Select(m => ProtocolOf(m.Profile.Kind)).Distinct().ToList();
            if (protocols.Count > 1)
            {
                problems.Add($"Port {group.Key}: {string.Join(", ", members.Select(m => $"{settingOf[m.Name]} {ProtocolOf(m.Profile.Kind)}"))} speak different protocols on one port; put each protocol on its own RS-485 adapter (change Port).");
                continue;
            }
            if (protocols[0] == BusProtocol.LineReader && members.Count > 1)
                problems.Add($"Port {group.Key}: {members.Count} line readers on one port; a USB line reader has a port of its own.");
            int BaudOf(DevicePlan m) => options.Devices.First(o => o.Name == m.Name).BaudRate ?? m.Profile.Serial!.BaudRate;
            var bauds = members.Select(BaudOf).Distinct().ToList();
            if (bauds.Count > 1)
                problems.Add($"Port {group.Key}: devices disagree on the baud rate ({string.Join(", ", members.Select(m => $"{settingOf[m.Name]} {BaudOf(m)}"))}); every device on one bus must be set to the same rate (BaudRate, or the device's own setting).");
            foreach (var duplicate in members.GroupBy(m => m.Address).Where(g => g.Count() > 1 && protocols[0] != BusProtocol.LineReader))
                problems.Add($"Port {group.Key}: {string.Join(" and ", duplicate.Select(m => settingOf[m.Name]))} share address {duplicate.Key}; set a different Address on each device (and the same on the device: DIP switches or the reader's configuration card).");
            buses.Add(new BusPlan(group.Key, protocols[0], members[0].Profile.Serial!, bauds[0], members));
        }

        var gates = new List<GatePlan>();
        var readersUsed = new Dictionary<string, string>(StringComparer.Ordinal);
        var gateNames = new HashSet<string>(StringComparer.Ordinal);
        // (device, channel) -> who uses it: two gates on one board must not share a relay or a sensor input.
        var channelsUsed = new Dictionary<(string Device, int Channel), string>();
        var cameraIds = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < options.Gates.Count; i++)
        {
            var g = options.Gates[i];
            string where = $"Edge:Gates[{i}]{(string.IsNullOrEmpty(g.Name) ? "" : $" (\"{g.Name}\")")}";
            if (string.IsNullOrWhiteSpace(g.Name)) { problems.Add($"{where}: Name is empty."); continue; }
            if (!gateNames.Add(g.Name)) { problems.Add($"{where}: the gate name \"{g.Name}\" is used twice."); continue; }
            if (!catalog.TryGet(g.Turnstile, out var turnstileProfile) || turnstileProfile.Kind != ProfileKind.Turnstile)
            {
                problems.Add($"{where}: Turnstile \"{g.Turnstile}\" is not a turnstile profile; known: {string.Join(", ", catalog.Profiles.Where(p => p.Kind == ProfileKind.Turnstile).Select(p => p.Model))}.");
                continue;
            }
            var turnstile = turnstileProfile.Turnstile!;
            var relay = Resolve(g.RelayBoard, ProfileKind.ModbusRelayBoard, $"{where}: RelayBoard", devices, rejected, problems);
            var input = string.IsNullOrWhiteSpace(g.InputModule) ? null : Resolve(g.InputModule, ProfileKind.ModbusInputModule, $"{where}: InputModule", devices, rejected, problems);
            if (relay is not null)
            {
                int channels = relay.Profile.Modbus!.Channels;
                foreach (var (label, channel) in new[] { ("entry relay", turnstile.EntryRelay), ("exit relay", turnstile.ExitRelay), ("emergency relay", turnstile.EmergencyRelay ?? 0) })
                {
                    if (channel == 0) continue;
                    int actual = channel + g.RelayChannelOffset;
                    if (actual < 1 || actual > channels)
                        problems.Add($"{where}: the {label} is channel {actual} (profile {channel} + RelayChannelOffset {g.RelayChannelOffset}), but {relay.Name} has channels 1–{channels}.");
                    else if (!channelsUsed.TryAdd((relay.Name, actual), $"{where} {label}"))
                        problems.Add($"{where}: the {label} is channel {actual} of {relay.Name}, already used by {channelsUsed[(relay.Name, actual)]}; set RelayChannelOffset so the gates use different relays.");
                }
            }
            if (input is not null)
            {
                int channels = input.Profile.Modbus!.Channels;
                foreach (var (label, channel) in new[] { ("entry sensor", turnstile.EntrySensor), ("exit sensor", turnstile.ExitSensor) })
                {
                    int actual = channel + g.SensorChannelOffset;
                    if (actual < 1 || actual > channels)
                        problems.Add($"{where}: the {label} is input {actual} (profile {channel} + SensorChannelOffset {g.SensorChannelOffset}), but {input.Name} has inputs 1–{channels}.");
                    else if (!channelsUsed.TryAdd((input.Name, actual), $"{where} {label}"))
                        problems.Add($"{where}: the {label} is input {actual} of {input.Name}, already used by {channelsUsed[(input.Name, actual)]}; set SensorChannelOffset so the gates use different inputs.");
                }
            }
            DevicePlan? ResolveReader(string? name, string label)
            {
                if (string.IsNullOrWhiteSpace(name) || rejected.Contains(name)) return null;
                if (!devices.TryGetValue(name, out var reader)) { problems.Add($"{where}: {label} \"{name}\" is not a device in Edge:Devices."); return null; }
                if (reader.Profile.Kind is not (ProfileKind.OsdpReader or ProfileKind.LineReader))
                {
                    problems.Add($"{where}: {label} \"{name}\" is a {HardwareProfileCatalog.KindName(reader.Profile.Kind)}, not a card reader.");
                    return null;
                }
                if (readersUsed.TryGetValue(name, out var other)) { problems.Add($"{where}: {label} \"{name}\" is already the reader of {other}; a reader belongs to one gate direction."); return null; }
                readersUsed[name] = $"{g.Name} {label}";
                return reader;
            }
            var entryReader = ResolveReader(g.EntryReader, "EntryReader");
            var exitReader = ResolveReader(g.ExitReader, "ExitReader");
            if (string.IsNullOrWhiteSpace(g.EntryReader) && string.IsNullOrWhiteSpace(g.ExitReader))
                problems.Add($"{where}: no EntryReader or ExitReader: a gate needs at least one card reader.");
            AntiPassbackMode? antiPassback = g.AntiPassback switch { "off" => AntiPassbackMode.Off, "soft" => AntiPassbackMode.Soft, "hard" => AntiPassbackMode.Hard, _ => null };
            if (antiPassback is null) problems.Add($"{where}: AntiPassback \"{g.AntiPassback}\" must be \"off\", \"soft\" (allow and flag) or \"hard\" (refuse).");
            var cameras = new List<CameraPlan>();
            for (int c = 0; c < g.Cameras.Count; c++)
            {
                if (ResolveCamera(g.Cameras[c], g.Name, $"{where}: Cameras[{c}]", cameraIds, problems) is { } camera) cameras.Add(camera);
            }
            if (relay is not null && antiPassback is not null)
                gates.Add(new GatePlan(g.Name, turnstile, relay, input, g.RelayChannelOffset, g.SensorChannelOffset, entryReader, exitReader, antiPassback.Value, cameras));
        }

        var face = options.FaceGate ?? new FaceGateOptions();
        if (face.VotesNeeded is < 1 or > 10)
            problems.Add($"Edge:FaceGate:VotesNeeded = {face.VotesNeeded} is out of range 1–10: 2 means two agreeing frames open the gate.");
        if (face.DeadlineMs is < 50 or > 5000)
            problems.Add($"Edge:FaceGate:DeadlineMs = {face.DeadlineMs} is out of range 50–5000: 300 means a face seen more than 0.3 s ago never opens the gate.");
        if (face.WindowMs is < 50 or > 5000)
            problems.Add($"Edge:FaceGate:WindowMs = {face.WindowMs} is out of range 50–5000: 500 lets frames of the last half second vote.");
        if (face.CooldownSeconds is < 0 or > 600)
            problems.Add($"Edge:FaceGate:CooldownSeconds = {face.CooldownSeconds} is out of range 0–600: 5 stops one pass counting twice.");

        FireAlarmPlan? fireAlarm = null;
        if (options.FireAlarm is { } fa)
        {
            const string where = "Edge:FireAlarm";
            var module = Resolve(fa.InputModule, ProfileKind.ModbusInputModule, $"{where}: InputModule", devices, rejected, problems);
            if (!catalog.TryGet(fa.Profile, out var faProfile) || faProfile.Kind != ProfileKind.FireAlarmInput)
                problems.Add($"{where}: Profile \"{fa.Profile}\" is not a fire-alarm-input profile; known: {string.Join(", ", catalog.Profiles.Where(p => p.Kind == ProfileKind.FireAlarmInput).Select(p => p.Model))}.");
            else if (module is not null)
            {
                if (fa.Input < 1 || fa.Input > module.Profile.Modbus!.Channels)
                    problems.Add($"{where}: Input {fa.Input} is not an input of {module.Name} (1–{module.Profile.Modbus!.Channels}).");
                else if (channelsUsed.TryGetValue((module.Name, fa.Input), out var user))
                    problems.Add($"{where}: Input {fa.Input} of {module.Name} is already used by {user}; wire the fire-alarm contact to a free input.");
                else fireAlarm = new FireAlarmPlan(faProfile.FireAlarm!, module, fa.Input);
            }
        }
        else if (gates.Count > 0)
        {
            // Not an error: some gates (a staff door) have no alarm contact. doctor prints it as a warning.
        }

        return problems.Count == before ? new GateTopology(buses, gates, fireAlarm) : null;
    }

    /// <summary>
    /// Loads the hardware profiles named by <paramref name="options"/> and resolves the configuration;
    /// throws one <see cref="HardwareProfileException"/> listing every problem.
    /// </summary>
    public static GateTopology Load(EdgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        var topology = Build(options, HardwareProfileCatalog.Load(options.ResolvedProfilesDirectory), problems);
        return topology ?? throw new HardwareProfileException(problems);
    }

    public static readonly int[] StandardBaudRates = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600];

    private static CameraPlan? ResolveCamera(CameraOptions camera, string gate, string where, Dictionary<string, string> cameraIds, List<string> problems)
    {
        int before = problems.Count;
        if (string.IsNullOrWhiteSpace(camera.Id))
        {
            problems.Add($"{where}: Id is empty: give the camera a name such as \"{gate}-in-camera\".");
            return null;
        }
        where += $" (\"{camera.Id}\")";
        if (!cameraIds.TryAdd(camera.Id, where))
            problems.Add($"{where}: the camera Id \"{camera.Id}\" is already used by {cameraIds[camera.Id]}; camera Ids must be unique across gates.");
        Direction? direction = camera.Direction switch { "entry" => Direction.Entry, "exit" => Direction.Exit, _ => null };
        if (direction is null)
            problems.Add($"{where}: Direction \"{camera.Direction}\" must be \"entry\" or \"exit\" (which relay a recognised face frees).");
        if (CameraUrlProblem(camera.Url) is { } urlProblem)
            problems.Add($"{where}: {urlProblem}");
        if (camera.Width is < 64 or > 4096 || camera.Height is < 64 or > 4096 || camera.Width % 2 != 0 || camera.Height % 2 != 0)
            problems.Add($"{where}: Width×Height {camera.Width}×{camera.Height} must be even numbers between 64 and 4096; 640×480 is plenty for the face detector.");
        if (camera.FramesPerSecond is < 1 or > 60)
            problems.Add($"{where}: FramesPerSecond {camera.FramesPerSecond} is out of range 1–60; 10 is enough (only the newest frame is processed).");
        return problems.Count == before
            ? new CameraPlan(camera.Id, gate, direction!.Value, camera.Url, camera.Width, camera.Height, camera.FramesPerSecond, camera.Loop)
            : null;
    }

    /// <summary>What is wrong with a camera URL, or null. A file that does not exist yet is not an error here: the camera loop retries it.</summary>
    public static string? CameraUrlProblem(string? url)
    {
        const string Examples = "/dev/video0 (USB camera), rtsp://user:password@10.0.0.21:554/stream1 (network camera) or a video file path";
        if (string.IsNullOrWhiteSpace(url)) return $"Url is empty: set {Examples}.";
        if (url.Trim() != url || url.Contains('\n', StringComparison.Ordinal)) return $"Url \"{url}\" has spaces or line breaks around it; remove them.";
        int scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0) return null; // a device or a file path
        string name = url[..scheme].ToLowerInvariant();
        if (name is not ("rtsp" or "rtsps" or "http" or "https")) return $"Url \"{url}\": \"{name}://\" is not a camera protocol ffmpeg is used with here; use {Examples}.";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host)) return $"Url \"{url}\" is not a valid URL (no host); e.g. rtsp://10.0.0.21:554/stream1.";
        return null;
    }

    private static DevicePlan? Resolve(string name, ProfileKind kind, string where, Dictionary<string, DevicePlan> devices, HashSet<string> rejected, List<string> problems)
    {
        if (rejected.Contains(name)) return null; // its own problem is already reported
        if (string.IsNullOrWhiteSpace(name)) { problems.Add($"{where} is empty: name a device from Edge:Devices whose profile is a {HardwareProfileCatalog.KindName(kind)}."); return null; }
        if (!devices.TryGetValue(name, out var device)) { problems.Add($"{where} \"{name}\" is not a device in Edge:Devices."); return null; }
        if (device.Profile.Kind != kind) { problems.Add($"{where} \"{name}\" is a {HardwareProfileCatalog.KindName(device.Profile.Kind)}, but a {HardwareProfileCatalog.KindName(kind)} is needed."); return null; }
        return device;
    }

    private static BusProtocol ProtocolOf(ProfileKind kind) => kind switch
    {
        ProfileKind.OsdpReader => BusProtocol.Osdp,
        ProfileKind.LineReader => BusProtocol.LineReader,
        _ => BusProtocol.ModbusRtu,
    };
}
