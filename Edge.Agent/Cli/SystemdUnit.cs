using System.Text;
using System.Text.RegularExpressions;

namespace Kezekshi.Edge.Agent.Cli;

/// <summary>What goes into the generated <c>kezekshi-edge.service</c>.</summary>
/// <param name="Command">The executable and any arguments before <c>run</c> (e.g. <c>/usr/bin/dotnet</c> and the dll).</param>
/// <param name="User">The service user, e.g. <c>kezekshi</c>.</param>
/// <param name="Group">The service user's primary group.</param>
/// <param name="DataDirectory">Where the database and journal live: the one place the service may write.</param>
/// <param name="ConfigFile">The configuration file passed as <c>run --config</c>.</param>
/// <param name="SerialGroup">The group that owns serial ports (<c>dialout</c> on Debian, Ubuntu, Fedora; <c>uucp</c> on Arch).</param>
/// <param name="WatchdogSeconds">systemd restarts the agent when it has not pinged for this long.</param>
public sealed record SystemdUnitOptions(
    IReadOnlyList<string> Command,
    string User,
    string Group,
    string DataDirectory,
    string ConfigFile,
    string SerialGroup = "dialout",
    int WatchdogSeconds = 10);

/// <summary>Renders the systemd unit of the agent (systemd.service(5), systemd.exec(5)). Pure: no file or process is touched.</summary>
/// <remarks>
/// <para><c>Type=notify</c> with <c>WatchdogSec</c>: the agent sends <c>READY=1</c> once its gates run and
/// <c>WATCHDOG=1</c> only while they are healthy (<see cref="Hosting.SystemdWatchdogService"/>).</para>
/// <para>Hardening keeps serial ports usable: no <c>PrivateDevices</c> and no <c>DeviceAllow</c> list, because
/// adapters appear under several names and majors (ttyUSB, ttyACM, ttyS, ttyAMA, ttyCH341USB); access to
/// them is the serial group's, given by <c>SupplementaryGroups</c>. <c>MemoryDenyWriteExecute</c> is left
/// off because the .NET JIT writes executable code.</para>
/// </remarks>
public static partial class SystemdUnit
{
    private static readonly string[] s_hiddenPrefixes = ["/home/", "/root/", "/run/user/", "/tmp/", "/var/tmp/"];

    /// <summary>The unit's file name.</summary>
    public const string FileName = "kezekshi-edge.service";

    /// <summary>Every reason <paramref name="options"/> cannot be written into a unit; empty when it can.</summary>
    public static IReadOnlyList<string> Validate(SystemdUnitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        if (options.Command.Count == 0 || !Path.IsPathRooted(options.Command[0]))
            problems.Add($"the executable \"{options.Command.FirstOrDefault()}\" must be an absolute path: pass --exe /opt/kezekshi/kezekshi-edge.");
        foreach (string part in options.Command.Where(p => Path.IsPathRooted(p)))
        {
            if (s_hiddenPrefixes.FirstOrDefault(prefix => part.StartsWith(prefix, StringComparison.Ordinal)) is { } hidden)
                problems.Add($"{part} is under {hidden}, which the service cannot see (ProtectHome=yes, PrivateTmp=yes): install the agent under /opt/kezekshi and pass --exe /opt/kezekshi/kezekshi-edge.");
        }
        foreach (var (name, value) in new[] { ("--user", options.User), ("group", options.Group), ("--serial-group", options.SerialGroup) })
        {
            if (!NamePattern().IsMatch(value))
                problems.Add($"{name} \"{value}\" is not a valid user or group name (lower-case letters, digits, '_' and '-', starting with a letter or '_').");
        }
        foreach (var (name, value) in new[] { ("--data-dir", options.DataDirectory), ("--config-dir", Path.GetDirectoryName(options.ConfigFile) ?? "") })
        {
            if (!Path.IsPathRooted(value))
                problems.Add($"{name} \"{value}\" must be an absolute path.");
            else if (value.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '\\' or '%' or '$'))
                problems.Add($"{name} \"{value}\" contains a space, quote, backslash, % or $; choose a plain path such as /var/lib/kezekshi.");
        }
        if (options.WatchdogSeconds is < 2 or > 3600)
            problems.Add($"WatchdogSec {options.WatchdogSeconds} is out of range 2–3600.");
        return problems;
    }

    /// <summary>The text of <c>kezekshi-edge.service</c>.</summary>
    /// <exception cref="ArgumentException">The options fail <see cref="Validate"/>.</exception>
    public static string Render(SystemdUnitOptions options)
    {
        var problems = Validate(options);
        if (problems.Count > 0) throw new ArgumentException("Cannot write the systemd unit: " + string.Join(" ", problems), nameof(options));

        string data = options.DataDirectory.TrimEnd('/');
        if (data.Length == 0) data = "/";
        string exec = string.Join(' ', options.Command.Concat(["run", "--config", options.ConfigFile]).Select(QuoteArgument));
        var text = new StringBuilder();
        void Line(string line) => text.Append(line).Append('\n');

        Line("# Kezekshi Edge gate agent. Written by `kezekshi-edge install-service`; run it again to regenerate.");
        Line("# Logs: journalctl -u kezekshi-edge -f    Check the setup: sudo -u " + options.User + " " + exec.Replace(" run --config ", " doctor --config ", StringComparison.Ordinal));
        Line("[Unit]");
        Line("Description=Kezekshi Edge gate agent (turnstiles, card readers, fire alarm)");
        Line("After=network-online.target");
        Line("Wants=network-online.target");
        Line("# Never stop restarting: the gates depend on this service.");
        Line("StartLimitIntervalSec=0");
        Line("");
        Line("[Service]");
        Line("Type=notify");
        Line("NotifyAccess=main");
        Line("ExecStart=" + exec);
        Line("User=" + options.User);
        Line("Group=" + options.Group);
        Line("# Serial ports belong to this group (ls -l /dev/ttyUSB0).");
        Line("SupplementaryGroups=" + options.SerialGroup);
        Line("WorkingDirectory=" + data);
        if (StateDirectoryName(data) is { } state)
        {
            Line("StateDirectory=" + state);
            Line("StateDirectoryMode=0750");
        }
        Line("Restart=always");
        Line("RestartSec=2");
        Line("# The agent pings only while its gate loops are alive; a hung agent is killed and restarted.");
        Line($"WatchdogSec={options.WatchdogSeconds}");
        Line("TimeoutStopSec=20");
        Line("# journald adds timestamps; the systemd formatter adds the <level> prefix journald understands.");
        Line("Environment=Logging__Console__FormatterName=systemd");
        Line("# A single-file build extracts native libraries here (the service has no home directory).");
        Line($"Environment=DOTNET_BUNDLE_EXTRACT_BASE_DIR={data}/.dotnet-bundle");
        Line("Environment=DOTNET_CLI_TELEMETRY_OPTOUT=1");
        Line("");
        Line("# Hardening (systemd.exec(5)): read-only system, writable data directory only.");
        Line("NoNewPrivileges=yes");
        Line("ProtectSystem=strict");
        Line("ReadWritePaths=" + data);
        Line("ProtectHome=yes");
        Line("PrivateTmp=yes");
        Line("ProtectKernelTunables=yes");
        Line("ProtectKernelModules=yes");
        Line("ProtectControlGroups=yes");
        Line("RestrictSUIDSGID=yes");
        Line("RestrictRealtime=yes");
        Line("LockPersonality=yes");
        Line("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK");
        Line("# No PrivateDevices= or DeviceAllow=: serial adapters must stay reachable under any of their names.");
        Line("");
        Line("[Install]");
        Line("WantedBy=multi-user.target");
        return text.ToString();
    }

    /// <summary>The StateDirectory= name when the data directory is under /var/lib (systemd then creates and owns it), else null.</summary>
    private static string? StateDirectoryName(string data) =>
        data.StartsWith("/var/lib/", StringComparison.Ordinal) && data.Length > "/var/lib/".Length ? data["/var/lib/".Length..] : null;

    /// <summary>One ExecStart= argument: % and $ escaped, quoted when it has spaces or quotes (systemd.service(5), "Command lines").</summary>
    internal static string QuoteArgument(string argument)
    {
        string escaped = argument.Replace("%", "%%", StringComparison.Ordinal).Replace("$", "$$", StringComparison.Ordinal);
        if (escaped.Length > 0 && !escaped.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '\\' or ';')) return escaped;
        return "\"" + escaped.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }

    [GeneratedRegex("^[a-z_][a-z0-9_-]{0,31}$")]
    private static partial Regex NamePattern();
}
