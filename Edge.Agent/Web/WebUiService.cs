using Kezekshi.Edge.Agent.Hosting;
using Kezekshi.Edge.Agent.Ledgers;
using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Ledgers.Library;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Kezekshi.Edge.Agent.Web;

/// <summary>
/// Serves the web UI for as long as the agent runs (under <c>run</c>). Waits for the gates' store to be opened,
/// then starts Kestrel. If the UI cannot start (port taken, unsafe address) it says why and the gates carry on:
/// a broken screen must never stop a turnstile.
/// </summary>
public sealed class WebUiService(IOptions<WebOptions> options, GateService gates, IServiceProvider services, ILoggerFactory loggers) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var logger = loggers.CreateLogger("Kezekshi.Edge.Agent.Web");
        if (!options.Value.Enabled) return;
        while (gates.Database is null && !stoppingToken.IsCancellationRequested)
            await Task.Delay(100, stoppingToken).ConfigureAwait(false);
        var database = gates.Database!;
        // Biometrics are registered only when the DPIA is recorded; opening them may still fail (unreadable biometrics.db, key).
        Recognition.FaceRecognition? face = null;
        string? biometricsProblem = null;
        try
        {
            face = services.GetService<Recognition.FaceRecognition>();
        }
        catch (Exception e) when (e is Kezekshi.Edge.Biometrics.Storage.BiometricsStoreException or Kezekshi.Edge.Biometrics.BiometricsDisabledException or IOException or UnauthorizedAccessException)
        {
            biometricsProblem = "Biometrics are configured but could not be opened: " + e.Message;
            WebLog.BiometricsUnavailable(logger, e.Message);
        }
        // Resolved only now: the ledgers' store is opened after the gates migrated it (two first opens would race to migrate).
        var context = new WebContext
        {
            Canteen = services.GetRequiredService<CanteenLedger>(),
            Library = services.GetRequiredService<LibraryDesk>(),
            Database = database,
            Runtime = () => gates.Runtime,
            Options = options.Value,
            Loggers = loggers,
            Face = face,
            BiometricsProblem = biometricsProblem,
            PhotosDirectory = options.Value.PhotosDirectory ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(database.Path))!, "photos"),
        };
        WebApplication app;
        try
        {
            app = EdgeWebHost.Create(context);
            await app.StartAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebConfigurationException or IOException or InvalidOperationException)
        {
            WebLog.StartFailed(logger, e.Message);
            return;
        }
        // Decisions reach the live log and the board once the gates exist.
        while (gates.Runtime is null && !stoppingToken.IsCancellationRequested)
            await Task.Delay(100, stoppingToken).ConfigureAwait(false);
        if (gates.Runtime is { } runtime) context.Feed.Attach(runtime);
        WebLog.Listening(logger, string.Join(", ", EdgeWebHost.ListeningUrls(app)));
        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping with the agent.
        }
        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>Registers the web UI with the agent's host.</summary>
public static class WebUiServiceCollectionExtensions
{
    public static IServiceCollection AddEdgeWebUi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebOptions>().Bind(configuration.GetSection(WebOptions.Section));
        services.AddLedgers(configuration);
        services.AddHostedService<WebUiService>();
        return services;
    }
}
