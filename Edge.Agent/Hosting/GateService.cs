using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Ledgers;
using Kezekshi.Edge.Agent.Runtime;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Web;
using Kezekshi.Edge.Devices.Profiles;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Kezekshi.Edge.Agent.Hosting;

/// <summary>Runs the gates for as long as the host runs.</summary>
public sealed class GateService(IOptions<EdgeOptions> options, ILoggerFactory loggers) : BackgroundService
{
    private AgentRuntime? _runtime;

    /// <summary>True while starting and while every gate loop is alive: what the systemd watchdog pings for.</summary>
    public bool IsHealthy => _runtime is null || _runtime.IsHealthy;

    public AgentRuntime? Runtime => _runtime;

    /// <summary>The store the gates write to, once opened and migrated (the web UI waits for it).</summary>
    public EdgeDatabase? Database { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var edge = options.Value;
        var topology = GateTopology.Load(edge);
        var database = EdgeDatabase.Open(edge.ResolvedDatabasePath);
        Database = database;
        _runtime = AgentRuntime.Create(edge, topology, database, loggers);
        await _runtime.StartAsync().ConfigureAwait(false);
        loggers.CreateLogger("Kezekshi.Edge.Agent").LogInformation(
            "Kezekshi Edge running for school {School}: {Gates} gate(s) on {Ports} serial port(s); database {Database}.",
            edge.SchoolId, topology.Gates.Count, topology.Buses.Count, database.Path);
        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping: the runtime lets pending passages commit before the process ends.
        }
        await _runtime.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>Checks the configuration against the hardware profiles when the host starts (and refuses to start on a mistake).</summary>
public sealed class EdgeOptionsValidator : IValidateOptions<EdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        try
        {
            var catalog = HardwareProfileCatalog.Load(options.ResolvedProfilesDirectory);
            GateTopology.Build(options, catalog, problems);
        }
        catch (HardwareProfileException e)
        {
            problems.AddRange(e.Problems.Count > 0 ? e.Problems : [e.Message]);
        }
        options.Sync.Validate(problems);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

/// <summary>The agent's services for the Generic Host.</summary>
public static class EdgeAgentServiceCollectionExtensions
{
    public static IServiceCollection AddEdgeAgent(this IServiceCollection services, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        services.AddOptions<EdgeOptions>().Bind(configuration.GetSection(EdgeOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EdgeOptions>, EdgeOptionsValidator>();
        services.AddSingleton<GateService>();
        services.AddHostedService(sp => sp.GetRequiredService<GateService>());
        services.AddSingleton<SyncService>();
        services.AddHostedService(sp => sp.GetRequiredService<SyncService>());

        // The canteen caps offline spending from what sync knows; the ledgers take money and board changes from the centre.
        // Resolved when asked, not when built: the sync service itself needs the ledger (its downlink handlers).
        services.AddSingleton<Ledgers.Canteen.ICentreReachability>(sp =>
            sp.GetRequiredService<IOptions<EdgeOptions>>().Value.Sync.Enabled
                ? new Sync.SyncReachability(() => sp.GetRequiredService<SyncService>().Session, () => sp.GetRequiredService<SyncService>().IsConnected)
                : Ledgers.Canteen.AlwaysReachable.Instance);
        services.AddLedgers(configuration);
        services.AddHostedService<EvacuationRollCallService>();
        services.AddSingleton<Sync.IDownlinkHandler>(sp => new Sync.LedgerHandlers(sp.GetRequiredService<Ledgers.Canteen.CanteenLedger>(), sp.GetRequiredService<Ledgers.Tableau.Announcements>()));

        // Biometrics stay off until the DPIA is recorded (Biometrics:Enabled and Biometrics:Dpia:*); then consent changes from the centre reach the store.
        var biometrics = configuration.GetSection(Biometrics.BiometricsOptions.Section).Get<Biometrics.BiometricsOptions>() ?? new Biometrics.BiometricsOptions();
        if (biometrics.Enabled)
        {
            services.AddSingleton(sp => Biometrics.BiometricsModule.Open(biometrics, sp.GetRequiredService<IOptions<EdgeOptions>>().Value.DataDirectory));
            services.AddSingleton<Sync.IDownlinkHandler>(sp =>
            {
                var module = sp.GetRequiredService<Biometrics.BiometricsModule>();
                return new Sync.BiometricsHandlers(module.Consents, pupil => module.Store.Count(pupil),
                    module.Transfer(sp.GetRequiredService<IOptions<EdgeOptions>>().Value.SchoolId));
            });
            // Templates of a pupil moving to another school leave sealed for that school's key (docs/sync-protocol.md §5.3).
            services.AddSingleton<Sync.IDownlinkHandler>(sp => new Sync.TemplateExportHandlers(
                sp.GetRequiredService<Biometrics.BiometricsModule>().Transfer(sp.GetRequiredService<IOptions<EdgeOptions>>().Value.SchoolId)));
            services.AddSingleton(sp => new Sync.BiometricEventsRelay(sp.GetRequiredService<Biometrics.BiometricsModule>().Events,
                EdgeDatabase.Open(sp.GetRequiredService<IOptions<EdgeOptions>>().Value.ResolvedDatabasePath)));
            services.AddHostedService<Sync.BiometricEventsRelayService>();
        }
        services.AddSystemdIntegration(sp => () => sp.GetRequiredService<GateService>().IsHealthy);
        services.AddEdgeWebUi(configuration);
        return services;
    }
}
