using Kezekshi.Edge.Agent.Runtime;
using System.Globalization;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Devices.Profiles;
using Kezekshi.Edge.Devices.Transport;
using Kezekshi.Edge.Devices.Transport.Serial;

namespace Kezekshi.Edge.Agent.Diagnostics;

/// <summary>How a <see cref="DoctorCheck"/> came out. Only <see cref="Fail"/> makes <c>doctor</c> exit with 1.</summary>
public enum DoctorStatus
{
    /// <summary>Checked and fine.</summary>
    Ok,
    /// <summary>Not a check, a fact worth knowing (e.g. whether systemd started us).</summary>
    Info,
    /// <summary>Works, but should be looked at.</summary>
    Warn,
    /// <summary>The agent will not work until this is fixed.</summary>
    Fail,
}

/// <summary>One line of <c>doctor</c>'s report.</summary>
/// <param name="Status">The outcome.</param>
/// <param name="Subject">What was checked: "profiles", "config", "port /dev/ttyUSB0", "data", "database", "systemd".</param>
/// <param name="Message">What was found; for non-OK lines from the device layer or the store it already says what to do.</param>
/// <param name="Fix">What exactly to do, when <paramref name="Message"/> does not say it.</param>
public sealed record DoctorCheck(DoctorStatus Status, string Subject, string Message, string? Fix = null)
{
    /// <summary>The check as printed: <c>FAIL  port /dev/ttyUSB0: … fix: …</c>.</summary>
    public override string ToString()
    {
        string status = Status switch { DoctorStatus.Ok => "OK", DoctorStatus.Info => "INFO", DoctorStatus.Warn => "WARN", _ => "FAIL" };
        string line = $"{status,-5} {Subject}: {Message}";
        return Fix is null ? line : $"{line}{Environment.NewLine}      fix: {Fix}";
    }
}

/// <summary>
/// The checks behind <c>kezekshi-edge doctor</c>: everything the agent needs at startup, each reported with
/// what to fix, so school IT can find a problem before the gates do.
/// </summary>
/// <remarks>
/// Checks run in the order the agent starts: profiles, configuration, serial ports, data directory, database.
/// A later check still runs when an earlier one failed, so one run lists every problem. Side effects: the data
/// directory and database are created and migrated if missing (as <c>run</c> would), and each serial port is
/// opened and closed once.
/// </remarks>
public sealed class Doctor
{
    /// <summary>Below this much free space on the data directory's disk, doctor warns.</summary>
    public const long LowDiskSpaceBytes = 1L << 30;

    private readonly string? _notifySocket;
    private readonly string _userName;

    /// <param name="notifySocket">The <c>NOTIFY_SOCKET</c> value (for the systemd line); default: the environment's.</param>
    /// <param name="userName">The user the checks run as, for the fix commands; default: <see cref="Environment.UserName"/>.</param>
    public Doctor(string? notifySocket = null, string? userName = null)
    {
        _notifySocket = notifySocket ?? Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        _userName = userName ?? Environment.UserName;
    }

    /// <summary>Runs every check against <paramref name="options"/>.</summary>
    /// <param name="source">Where the options came from, reported as the first line; null to leave it out.</param>
    public IReadOnlyList<DoctorCheck> Run(EdgeOptions options, AgentConfiguration? source = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var checks = new List<DoctorCheck>();
        if (source is not null) checks.Add(CheckSource(source));
        var catalog = CheckProfiles(options, checks);
        var topology = CheckTopology(options, catalog, checks);
        CheckPorts(options, catalog, topology, checks);
        CheckDataDirectory(options, checks);
        CheckDatabase(options, checks);
        if (source is not null) BiometricsDoctor.Check(source.Configuration, options, checks);
        CheckSystemd(checks);
        return checks;
    }

    /// <summary>0 when no check failed, 1 otherwise (the process exit code).</summary>
    public static int ExitCode(IEnumerable<DoctorCheck> checks) => checks.Any(c => c.Status == DoctorStatus.Fail) ? 1 : 0;

    private static DoctorCheck CheckSource(AgentConfiguration source) => source.ConfigFileFound
        ? new DoctorCheck(DoctorStatus.Info, "config", $"read {source.ConfigFile}, then environment variables Edge__… and command-line --Edge:… settings")
        : new DoctorCheck(DoctorStatus.Warn, "config", $"{source.ConfigFile} does not exist: only environment variables and command-line settings apply",
            "pass --config /etc/kezekshi/appsettings.json (where install-service puts it), or put appsettings.json beside the executable");

    private static HardwareProfileCatalog? CheckProfiles(EdgeOptions options, List<DoctorCheck> checks)
    {
        string directory = options.ResolvedProfilesDirectory;
        try
        {
            var catalog = HardwareProfileCatalog.Load(directory);
            checks.Add(new DoctorCheck(DoctorStatus.Ok, "profiles", $"{catalog.Profiles.Count} hardware profiles loaded from {directory}"));
            return catalog;
        }
        catch (HardwareProfileException e)
        {
            IReadOnlyList<string> problems = e.Problems.Count > 0 ? e.Problems : [e.Message];
            foreach (string problem in problems) checks.Add(new DoctorCheck(DoctorStatus.Fail, "profiles", problem));
            return null;
        }
    }

    private static GateTopology? CheckTopology(EdgeOptions options, HardwareProfileCatalog? catalog, List<DoctorCheck> checks)
    {
        if (catalog is null)
        {
            checks.Add(new DoctorCheck(DoctorStatus.Fail, "config", "the devices and gates cannot be checked without the hardware profiles", "fix the profile problems above, then run doctor again"));
            return null;
        }
        var problems = new List<string>();
        var topology = GateTopology.Build(options, catalog, problems);
        foreach (string problem in problems) checks.Add(new DoctorCheck(DoctorStatus.Fail, "config", problem));
        if (topology is null) return null;
        checks.Add(new DoctorCheck(DoctorStatus.Ok, "config",
            $"school {options.SchoolId}: {topology.Gates.Count} gate(s), {options.Devices.Count} device(s) on {topology.Buses.Count} port(s)"));
        if (topology.FireAlarm is null)
            checks.Add(new DoctorCheck(DoctorStatus.Warn, "config", "no Edge:FireAlarm: in a fire the gates will not be freed automatically",
                "wire the fire panel's dry contact to an input module and add Edge:FireAlarm { \"InputModule\": \"…\", \"Input\": n }; leave it out only for gates that need none"));
        else
            checks.Add(new DoctorCheck(DoctorStatus.Ok, "config", $"fire alarm on {topology.FireAlarm.InputModule.Name} input {topology.FireAlarm.Input}"));
        foreach (var module in topology.Gates.Where(g => g.InputModule is { Profile.Modbus.HasCounters: false }).GroupBy(g => g.InputModule!))
        {
            checks.Add(new DoctorCheck(DoctorStatus.Warn, "config",
                $"the pass sensors of {string.Join(", ", module.Select(g => g.Name))} are read from the level of {module.Key.Name} ({module.Key.Profile.Model}), which has no pulse counters: a pulse between two polls is missed and the passage stored as not passed",
                "use an input module with a counter per input (a DI counter mode) and a profile with \"counterTable\"; see docs/operations.md"));
        }
        return topology;
    }

    private void CheckPorts(EdgeOptions options, HardwareProfileCatalog? catalog, GateTopology? topology, List<DoctorCheck> checks)
    {
        var ports = options.Devices.Where(d => !string.IsNullOrWhiteSpace(d.Port)).GroupBy(d => d.Port, StringComparer.Ordinal);
        foreach (var group in ports)
        {
            string port = group.Key;
            string subject = $"port {port}";
            var settings = SettingsFor(port, group, catalog, topology);
            if (OperatingSystem.IsLinux() && !CheckDeviceNode(port, subject, checks)) continue;
            checks.Add(TryOpen(settings, subject, string.Join(", ", group.Select(d => d.Name))));
        }
    }

    /// <summary>The settings the agent would open the port with: the bus's, else the first known profile's, else 9600 8N1.</summary>
    private static SerialPortSettings SettingsFor(string port, IEnumerable<DeviceOptions> devices, HardwareProfileCatalog? catalog, GateTopology? topology)
    {
        if (topology?.Buses.FirstOrDefault(b => b.Port == port) is { } bus) return SerialSettings.For(port, bus.Line, bus.BaudRate);
        foreach (var device in devices)
        {
            if (catalog is not null && catalog.TryGet(device.Profile, out var profile) && profile.Serial is { } line)
                return SerialSettings.For(port, line, device.BaudRate ?? line.BaudRate);
        }
        return new SerialPortSettings(port);
    }

    /// <summary>Exists, is a character device, and this user may read and write it. False (with a FAIL added) otherwise.</summary>
    private bool CheckDeviceNode(string port, string subject, List<DoctorCheck> checks)
    {
        if (!OperatingSystem.IsLinux()) return true;
        var status = Posix.Stat(port, out int errno);
        if (status is null)
        {
            checks.Add(errno == 2
                ? new DoctorCheck(DoctorStatus.Fail, subject, $"{port} does not exist",
                    "is the USB-RS485 adapter plugged in? `ls -l /dev/serial/by-id/` lists the adapters this PC sees; put that stable path in Edge:Devices[].Port (and see `dmesg | tail` right after plugging it in)")
                : new DoctorCheck(DoctorStatus.Fail, subject, $"{port} cannot be looked up: {Posix.Describe(errno)}", "check the path and the permissions of its folders"));
            return false;
        }
        if (!status.Value.IsCharacterDevice)
        {
            checks.Add(new DoctorCheck(DoctorStatus.Fail, subject, $"{port} is a {status.Value.TypeName}, not a serial port",
                "set Edge:Devices[].Port to the serial device: /dev/ttyUSB*, /dev/ttyACM*, /dev/ttyS*, /dev/ttyAMA* or, best, /dev/serial/by-id/*"));
            return false;
        }
        int denied = Posix.Access(port, Posix.ROk | Posix.WOk);
        if (denied != 0)
        {
            checks.Add(new DoctorCheck(DoctorStatus.Fail, subject, $"{_userName} may not read and write {port} ({Posix.Describe(denied)})", PermissionFix(port, status.Value)));
            return false;
        }
        return true;
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private string PermissionFix(string port, FileStatus status)
    {
        var group = Posix.Group(status.Gid);
        return PermissionAdvice(port, status.Mode, group?.Name ?? status.Gid.ToString(CultureInfo.InvariantCulture),
            listedInGroup: group?.Members.Contains(_userName, StringComparer.Ordinal) == true,
            processHasGroup: Posix.ProcessGroups().Contains(status.Gid), _userName);
    }

    /// <summary>What to do when <paramref name="userName"/> may not read and write <paramref name="port"/>.</summary>
    /// <param name="mode">The port's st_mode.</param>
    /// <param name="groupName">The group owning the port.</param>
    /// <param name="listedInGroup">/etc/group lists the user in that group.</param>
    /// <param name="processHasGroup">This process has that group (it does not until the next login after usermod).</param>
    internal static string PermissionAdvice(string port, uint mode, string groupName, bool listedInGroup, bool processHasGroup, string userName)
    {
        if ((mode & 0x30) != 0x30) // S_IRGRP | S_IWGRP
            return $"{port} has mode {Convert.ToString(mode & 0xFFF, 8)}, so even its group {groupName} may not use it; serial ports are normally 0660 root:dialout: add a udev rule (SUBSYSTEM==\"tty\", GROUP=\"dialout\", MODE=\"0660\") or sudo chmod 0660 {port}";
        const string Service = "(the kezekshi-edge service gets the group from SupplementaryGroups= in its unit)";
        if (listedInGroup && !processHasGroup)
            return $"{userName} is in group {groupName} but this login started before that: log out and in again (or run `newgrp {groupName}`) {Service}";
        return $"{userName} is not in group {groupName}, which owns {port}: sudo usermod -aG {groupName} {userName}, then log out and in again {Service}";
    }

    private static DoctorCheck TryOpen(SerialPortSettings settings, string subject, string devices)
    {
        try
        {
            var port = SerialPortFactory.Open(settings);
            var effective = port.EffectiveRs485Mode;
            port.DisposeAsync().AsTask().GetAwaiter().GetResult(); // a command-line tool: nothing else runs meanwhile
            return new DoctorCheck(DoctorStatus.Ok, subject, $"opens at {settings.FrameDescription}, RS-485 direction control {effective} ({devices})");
        }
        catch (TransportException e) when (e.Errno == 16) // EBUSY: held by another program
        {
            return new DoctorCheck(DoctorStatus.Fail, subject, e.Message,
                "if it is the kezekshi-edge service itself, that is expected: stop it (sudo systemctl stop kezekshi-edge) to check the ports, then start it again");
        }
        catch (TransportException e)
        {
            return new DoctorCheck(DoctorStatus.Fail, subject, e.Message);
        }
        catch (ArgumentException e)
        {
            return new DoctorCheck(DoctorStatus.Fail, subject, e.Message);
        }
    }

    private void CheckDataDirectory(EdgeOptions options, List<DoctorCheck> checks)
    {
        const string Subject = "data";
        string directory = Path.GetFullPath(options.DataDirectory);
        string create = $"sudo mkdir -p {directory} && sudo chown {_userName}: {directory} && sudo chmod 0750 {directory} (install-service does this for the service user)";
        string? existing = directory;
        if (File.Exists(directory))
        {
            checks.Add(new DoctorCheck(DoctorStatus.Fail, Subject, $"Edge:DataDirectory {directory} is a file, not a directory", "point Edge:DataDirectory at a directory, e.g. /var/lib/kezekshi"));
            return;
        }
        if (!Directory.Exists(directory))
        {
            existing = Path.GetDirectoryName(directory);
            while (existing is not null && !Directory.Exists(existing)) existing = Path.GetDirectoryName(existing);
            if (existing is null || WriteProbe(existing) is { } cannot)
            {
                checks.Add(new DoctorCheck(DoctorStatus.Fail, Subject, $"Edge:DataDirectory {directory} does not exist and cannot be created{(existing is null ? "" : $" in {existing}")}", create));
                return;
            }
            checks.Add(new DoctorCheck(DoctorStatus.Ok, Subject, $"{directory} does not exist yet and can be created (the database check below creates it, as the agent's first start would)"));
        }
        else if (WriteProbe(directory) is { } problem)
        {
            checks.Add(new DoctorCheck(DoctorStatus.Fail, Subject, $"Edge:DataDirectory {directory} is not writable by {_userName}: {problem}",
                $"sudo chown {_userName}: {directory} && sudo chmod 0750 {directory}, and check the disk is not mounted read-only (`findmnt -T {directory}`)"));
            return;
        }
        else
        {
            checks.Add(new DoctorCheck(DoctorStatus.Ok, Subject, $"{directory} is writable"));
        }

        try
        {
            long free = new DriveInfo(existing!).AvailableFreeSpace;
            string amount = $"{free / (double)(1L << 30):0.0} GB free on the disk of {directory}";
            checks.Add(free < LowDiskSpaceBytes
                ? new DoctorCheck(DoctorStatus.Warn, "disk", amount, "free space (`df -h`, `journalctl --vacuum-size=200M`): when the disk is full, passages can no longer be stored")
                : new DoctorCheck(DoctorStatus.Ok, "disk", amount));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            checks.Add(new DoctorCheck(DoctorStatus.Warn, "disk", $"free space on {directory} unknown: {e.Message}", "check it by hand: df -h"));
        }
    }

    /// <summary>Creates and deletes a file in <paramref name="directory"/>; null if that worked, else why not.</summary>
    private static string? WriteProbe(string directory)
    {
        string probe = Path.Combine(directory, $".kezekshi-doctor-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    private static void CheckDatabase(EdgeOptions options, List<DoctorCheck> checks)
    {
        string path = options.ResolvedDatabasePath;
        try
        {
            var database = EdgeDatabase.Open(path);
            checks.Add(new DoctorCheck(DoctorStatus.Ok, "database", $"{database.Path} opens, schema version {database.SchemaVersion()}"));
        }
        catch (StoreException e)
        {
            checks.Add(new DoctorCheck(DoctorStatus.Fail, "database", e.Message));
        }
    }

    private void CheckSystemd(List<DoctorCheck> checks)
    {
        if (!OperatingSystem.IsLinux()) return;
        if (!string.IsNullOrEmpty(_notifySocket))
            checks.Add(new DoctorCheck(DoctorStatus.Info, "systemd", $"started by systemd (NOTIFY_SOCKET={_notifySocket})"));
        else if (Directory.Exists("/run/systemd/system"))
            checks.Add(new DoctorCheck(DoctorStatus.Info, "systemd", File.Exists("/etc/systemd/system/kezekshi-edge.service")
                ? "not started by systemd; the kezekshi-edge service is installed: systemctl status kezekshi-edge, journalctl -u kezekshi-edge"
                : "not started by systemd; no kezekshi-edge service installed yet: sudo kezekshi-edge install-service"));
        else
            checks.Add(new DoctorCheck(DoctorStatus.Info, "systemd", "systemd is not this machine's service manager (a container?): run the agent with `kezekshi-edge run` under your own supervisor"));
    }
}
