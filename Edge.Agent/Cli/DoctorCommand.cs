using System.CommandLine;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Diagnostics;

namespace Kezekshi.Edge.Agent.Cli;

/// <summary><c>kezekshi-edge doctor [--config path] [--Edge:Key=value …]</c>: checks everything the agent needs, one line per check.</summary>
public static class DoctorCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config")
        {
            Description = "The configuration file; default: appsettings.json beside the executable. Environment variables (Edge__SchoolId) and --Edge:Key=value settings apply on top, as for run.",
        };
        var command = new Command("doctor", "Check the hardware profiles, configuration, serial ports, data directory and database, and say what to fix.")
        {
            TreatUnmatchedTokensAsErrors = false, // --Edge:Key=value settings go to the configuration
        };
        command.Options.Add(config);
        command.SetAction(parseResult => Execute(parseResult.GetValue(config), parseResult.UnmatchedTokens, Console.Out));
        return command;
    }

    /// <summary>Loads the configuration as <c>run</c> does, runs <see cref="Doctor"/>, prints its lines; returns the exit code.</summary>
    internal static int Execute(string? configPath, IReadOnlyList<string> settings, TextWriter output, bool environmentVariables = true)
    {
        AgentConfiguration loaded;
        try
        {
            loaded = AgentConfiguration.Load(configPath, settings, environmentVariables);
        }
        catch (AgentConfigurationException e)
        {
            output.WriteLine(new DoctorCheck(DoctorStatus.Fail, "config", e.Message));
            return 1;
        }
        if (configPath is not null && !loaded.ConfigFileFound)
        {
            output.WriteLine(new DoctorCheck(DoctorStatus.Fail, "config", $"{loaded.ConfigFile} does not exist", "check the --config path; install-service puts the configuration in /etc/kezekshi/appsettings.json"));
            return 1;
        }
        var checks = new Doctor().Run(loaded.Options, loaded);
        foreach (var check in checks) output.WriteLine(check);
        int failed = checks.Count(c => c.Status == DoctorStatus.Fail);
        int warned = checks.Count(c => c.Status == DoctorStatus.Warn);
        output.WriteLine(failed == 0
            ? $"No problems that stop the agent{(warned > 0 ? $" ({warned} warning(s))" : "")}."
            : $"{failed} problem(s) stop the agent; fix them and run doctor again.");
        return Doctor.ExitCode(checks);
    }
}
