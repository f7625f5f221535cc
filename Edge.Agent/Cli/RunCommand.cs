using System.CommandLine;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Hosting;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Devices.Profiles;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Kezekshi.Edge.Agent.Cli;

/// <summary><c>run</c>: the service itself, from appsettings.json, environment (Edge__…) and --Edge:… arguments.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "The configuration file (default: appsettings.json beside the executable)." };
        var command = new Command("run", "Run the gates from the configuration (what the systemd service runs).") { TreatUnmatchedTokensAsErrors = false };
        command.Options.Add(config);
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(config), parse.UnmatchedTokens, ct));
        return command;
    }

    public static async Task<int> RunAsync(string? configPath, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        AgentConfiguration loaded;
        try
        {
            loaded = AgentConfiguration.Load(configPath, args);
        }
        catch (AgentConfigurationException e)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 2;
        }
        if (configPath is not null && !loaded.ConfigFileFound)
        {
            await Console.Error.WriteLineAsync($"The configuration file {loaded.ConfigFile} does not exist. Create it (see README, Configuration) or run without --config to use the one beside the executable.").ConfigureAwait(false);
            return 2;
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(loaded.Configuration);
        builder.Logging.AddConfiguration(loaded.Configuration.GetSection("Logging"));
        builder.Logging.AddConsole();
        // The host logs a failed start with a stack trace; the clear message below says the same without it.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Services.AddEdgeAgent(loaded.Configuration);
        using var host = builder.Build();
        try
        {
            // Taken before running: RunAsync disposes the host (and its service provider) when it returns.
            var background = host.Services.GetServices<IHostedService>().OfType<BackgroundService>().ToList();
            await host.RunAsync(cancellationToken).ConfigureAwait(false);
            return await ReportStoppedServicesAsync(background).ConfigureAwait(false);
        }
        catch (OptionsValidationException e)
        {
            await Console.Error.WriteLineAsync($"The configuration in {loaded.ConfigFile} has {e.Failures.Count()} problem(s); nothing was started:").ConfigureAwait(false);
            foreach (var failure in e.Failures) await Console.Error.WriteLineAsync("  " + failure).ConfigureAwait(false);
            await Console.Error.WriteLineAsync("Run `kezekshi-edge doctor` for a full check.").ConfigureAwait(false);
            return 2;
        }
        catch (Exception e) when (e is StoreException or HardwareProfileException or Biometrics.BiometricsDisabledException or Biometrics.Storage.BiometricsStoreException)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 2;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Never a silent exit: the host's own log is filtered above, so say what failed here.
            await Console.Error.WriteLineAsync($"The agent could not start: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
            await Console.Error.WriteLineAsync("This is a bug or an environment problem: run `kezekshi-edge doctor`, and report this message with the log if doctor finds nothing.").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>
    /// A background service that throws stops the host (the default behaviour). Its exception would
    /// otherwise vanish with the filtered host log, so name each service that failed and why.
    /// </summary>
    private static async Task<int> ReportStoppedServicesAsync(IReadOnlyList<BackgroundService> services)
    {
        int failed = 0;
        foreach (var service in services)
        {
            if (service.ExecuteTask is { IsFaulted: true } task)
            {
                var e = task.Exception!.GetBaseException();
                await Console.Error.WriteLineAsync($"{service.GetType().Name} stopped the agent: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
                failed++;
            }
        }
        if (failed > 0)
            await Console.Error.WriteLineAsync("Run `kezekshi-edge doctor`; if it finds nothing, report this message with the log.").ConfigureAwait(false);
        return failed > 0 ? 1 : 0;
    }
}
