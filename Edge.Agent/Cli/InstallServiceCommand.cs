using System.CommandLine;
using System.Reflection;

namespace Kezekshi.Edge.Agent.Cli;

/// <summary><c>kezekshi-edge install-service</c>: sets the agent up as a systemd service (see <see cref="InstallService"/>).</summary>
public static class InstallServiceCommand
{
    public static Command Create()
    {
        var user = new Option<string>("--user") { Description = "The system user the service runs as; created if missing.", DefaultValueFactory = _ => "kezekshi" };
        var dataDir = new Option<string>("--data-dir") { Description = "Database and journal directory, owned by the user, mode 0750.", DefaultValueFactory = _ => "/var/lib/kezekshi" };
        var configDir = new Option<string>("--config-dir") { Description = "Where appsettings.json goes (copied once, never overwritten).", DefaultValueFactory = _ => "/etc/kezekshi" };
        var unitDir = new Option<string>("--unit-dir") { Description = "Where kezekshi-edge.service is written.", DefaultValueFactory = _ => "/etc/systemd/system" };
        var exe = new Option<string?>("--exe") { Description = "The agent executable for ExecStart; default: this one." };
        var serialGroup = new Option<string>("--serial-group") { Description = "The group owning serial ports (dialout; uucp on Arch).", DefaultValueFactory = _ => "dialout" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would be done and the unit, change nothing." };

        var command = new Command("install-service", "Install the agent as a systemd service (Linux; run as root).");
        foreach (var option in new Option[] { user, dataDir, configDir, unitDir, exe, serialGroup, dryRun }) command.Options.Add(option);
        command.SetAction(parseResult =>
        {
            string? executable = parseResult.GetValue(exe);
            var options = new InstallServiceOptions(
                executable is null ? CurrentCommand() : [Path.GetFullPath(executable)],
                parseResult.GetValue(user)!,
                parseResult.GetValue(dataDir)!,
                parseResult.GetValue(configDir)!,
                parseResult.GetValue(unitDir)!,
                parseResult.GetValue(serialGroup)!,
                parseResult.GetValue(dryRun));
            return new InstallService(options, Console.Out).Run();
        });
        return command;
    }

    /// <summary>How this agent was started: its executable, or <c>dotnet</c> and the dll when run through the host.</summary>
    internal static IReadOnlyList<string> CurrentCommand()
    {
        string process = Environment.ProcessPath ?? Path.Combine(AppContext.BaseDirectory, "kezekshi-edge");
        string name = Path.GetFileNameWithoutExtension(process);
        if (name.Equals("dotnet", StringComparison.OrdinalIgnoreCase) && Assembly.GetEntryAssembly()?.Location is { Length: > 0 } dll)
            return [process, dll];
        return [process];
    }
}
