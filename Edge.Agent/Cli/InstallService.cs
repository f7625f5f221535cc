using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Kezekshi.Edge.Agent.Cli;

/// <summary>What <c>install-service</c> is asked to do.</summary>
/// <param name="Command">The executable (and arguments before <c>run</c>) for ExecStart.</param>
/// <param name="SourceConfig">The appsettings.json copied to <paramref name="ConfigDirectory"/> when no configuration is there yet.</param>
public sealed record InstallServiceOptions(
    IReadOnlyList<string> Command,
    string User = "kezekshi",
    string DataDirectory = "/var/lib/kezekshi",
    string ConfigDirectory = "/etc/kezekshi",
    string UnitDirectory = "/etc/systemd/system",
    string SerialGroup = "dialout",
    bool DryRun = false,
    string? SourceConfig = null)
{
    /// <summary>The configuration file the service reads.</summary>
    public string ConfigFile => Path.Combine(ConfigDirectory, "appsettings.json");

    /// <summary>Where the unit is written.</summary>
    public string UnitFile => Path.Combine(UnitDirectory, SystemdUnit.FileName);
}

/// <summary>
/// Installs the agent as a systemd service: the system user, the data directory, the configuration and the
/// unit. Idempotent: running it again rewrites the unit and never overwrites an existing configuration.
/// </summary>
public sealed partial class InstallService
{
    private readonly InstallServiceOptions _options;
    private readonly TextWriter _output;

    public InstallService(InstallServiceOptions options, TextWriter output)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _output = output ?? throw new ArgumentNullException(nameof(output));
    }

    /// <summary>Does the installation (or, with <see cref="InstallServiceOptions.DryRun"/>, prints it); returns the exit code.</summary>
    public int Run()
    {
        var o = _options;
        if (!OperatingSystem.IsLinux())
        {
            _output.WriteLine("install-service sets up a systemd service and runs on Linux only. On Windows, register the agent with sc.exe as shown in docs/operations.md.");
            return 1;
        }
        bool root = Diagnostics.Posix.GetEffectiveUserId() == 0;
        if (!root && !o.DryRun)
        {
            _output.WriteLine("install-service must run as root: it creates a user and writes to /etc and /var/lib.");
            _output.WriteLine($"  sudo {string.Join(' ', o.Command.Select(SystemdUnit.QuoteArgument))} install-service …   (or add --dry-run to only see what it would do)");
            return 1;
        }
        string prefix = o.DryRun ? "would " : "";
        if (o.DryRun) _output.WriteLine("Dry run: nothing on this system is changed.");

        bool userExists = Exec("id", "-u", o.User).ExitCode == 0;
        if (!GroupExists(o.SerialGroup))
        {
            _output.WriteLine($"The group {o.SerialGroup} does not exist here, so the service could not use serial ports. See which group owns them (ls -l /dev/ttyUSB0 /dev/ttyS0) and pass it: --serial-group uucp");
            return 1;
        }
        string group = userExists ? Exec("id", "-gn", o.User).Output.Trim() : o.User;
        var unitOptions = new SystemdUnitOptions(o.Command, o.User, group, Path.GetFullPath(o.DataDirectory), Path.GetFullPath(o.ConfigFile), o.SerialGroup);
        var problems = SystemdUnit.Validate(unitOptions);
        if (problems.Count > 0)
        {
            foreach (string problem in problems) _output.WriteLine("Cannot install: " + problem);
            return 1;
        }
        string unit = SystemdUnit.Render(unitOptions);

        // 1. The service user.
        if (userExists)
            _output.WriteLine($"User {o.User} exists; left as it is (the service gets group {o.SerialGroup} from SupplementaryGroups).");
        else
        {
            string[] useradd = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", unitOptions.DataDirectory, "--shell", "/usr/sbin/nologin", "--groups", o.SerialGroup, o.User];
            _output.WriteLine($"{prefix}create system user {o.User}: {string.Join(' ', useradd)}");
            if (!o.DryRun && !Step(useradd)) return 1;
        }

        // 2. The data directory, the service user's own.
        _output.WriteLine($"{prefix}create {unitOptions.DataDirectory} owned by {o.User}:{group}, mode 0750");
        if (!o.DryRun)
        {
            Directory.CreateDirectory(unitOptions.DataDirectory);
            if (!Step("chown", $"{o.User}:{group}", unitOptions.DataDirectory)) return 1;
            File.SetUnixFileMode(unitOptions.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        }

        // 3. The configuration: copied once, never overwritten.
        if (File.Exists(unitOptions.ConfigFile))
        {
            _output.WriteLine($"Configuration {unitOptions.ConfigFile} exists; kept as it is (never overwritten).");
            if (ConfiguredDataDirectory(File.ReadAllText(unitOptions.ConfigFile)) is { } configured && Path.GetFullPath(configured) != unitOptions.DataDirectory)
                _output.WriteLine($"  Note: its Edge:DataDirectory is {configured}, but the service may write only to {unitOptions.DataDirectory}. Set \"DataDirectory\": \"{unitOptions.DataDirectory}\" there.");
        }
        else
        {
            string source = o.SourceConfig ?? Configuration.AgentConfiguration.DefaultConfigFile;
            if (!File.Exists(source))
            {
                _output.WriteLine($"Cannot install: there is no configuration to copy: {source} does not exist. Put an appsettings.json in {o.ConfigDirectory} first, or beside the executable.");
                return 1;
            }
            _output.WriteLine($"{prefix}copy {source} to {unitOptions.ConfigFile} (owner root:{group}, mode 0640), with Edge:DataDirectory set to {unitOptions.DataDirectory}");
            if (!o.DryRun)
            {
                Directory.CreateDirectory(o.ConfigDirectory);
                File.WriteAllText(unitOptions.ConfigFile, WithDataDirectory(File.ReadAllText(source), unitOptions.DataDirectory));
                if (!Step("chown", $"root:{group}", unitOptions.ConfigFile)) return 1;
                File.SetUnixFileMode(unitOptions.ConfigFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            }
        }

        // 4. The unit.
        _output.WriteLine($"{prefix}write {o.UnitFile}{(File.Exists(o.UnitFile) ? " (replacing the existing one)" : "")}:");
        _output.WriteLine();
        _output.Write(unit);
        _output.WriteLine();
        if (!o.DryRun)
        {
            Directory.CreateDirectory(o.UnitDirectory);
            File.WriteAllText(o.UnitFile, unit);
            File.SetUnixFileMode(o.UnitFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        string doctor = string.Join(' ', o.Command.Select(SystemdUnit.QuoteArgument)) + " doctor --config " + SystemdUnit.QuoteArgument(unitOptions.ConfigFile);
        _output.WriteLine(o.DryRun ? "After a real run (without --dry-run), the next steps would be:" : "Next steps:");
        _output.WriteLine($"  sudoedit {unitOptions.ConfigFile}                # set SchoolId, devices and gates");
        _output.WriteLine($"  sudo -u {o.User} {doctor}   # check it as the service user");
        _output.WriteLine("  sudo systemctl daemon-reload");
        _output.WriteLine("  sudo systemctl enable --now kezekshi-edge");
        _output.WriteLine("  journalctl -u kezekshi-edge -f");
        return 0;
    }

    /// <summary>The Edge:DataDirectory value of a configuration file's text, or null if absent or unreadable.</summary>
    internal static string? ConfiguredDataDirectory(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return document.RootElement.TryGetProperty("Edge", out var edge) && edge.TryGetProperty("DataDirectory", out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString() : null;
        }
        catch (JsonException) { return null; }
    }

    /// <summary>The configuration text with its <c>"DataDirectory"</c> value replaced, keeping its layout and comments.</summary>
    internal static string WithDataDirectory(string json, string dataDirectory)
    {
        var matches = DataDirectoryPattern().Matches(json);
        if (matches.Count != 1) return json; // not the shape we ship: leave it; the install notes point at the setting
        return DataDirectoryPattern().Replace(json, m => m.Groups[1].Value + JsonSerializer.Serialize(dataDirectory, InstallJsonContext.Default.String));
    }

    [GeneratedRegex("(\"DataDirectory\"\\s*:\\s*)\"(?:[^\"\\\\]|\\\\.)*\"")]
    private static partial Regex DataDirectoryPattern();

    private static bool GroupExists(string group) => Exec("getent", "group", group).ExitCode == 0;

    private bool Step(params string[] command)
    {
        var (exitCode, output) = Exec(command);
        if (exitCode == 0) return true;
        _output.WriteLine($"Failed: {string.Join(' ', command)} exited with {exitCode}: {output.Trim()}");
        _output.WriteLine("Nothing after this step was done; fix the problem and run install-service again (it is safe to repeat).");
        return false;
    }

    private static (int ExitCode, string Output) Exec(params string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in command.Skip(1)) start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, stdout + stderr.GetAwaiter().GetResult());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (127, $"{command[0]}: {e.Message}");
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class InstallJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
