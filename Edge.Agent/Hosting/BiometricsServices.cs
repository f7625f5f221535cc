using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Recognition;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Face;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Kezekshi.Edge.Agent.Hosting;

/// <summary>The agent's biometric services: registered only when the school turned biometrics on.</summary>
public static class BiometricsServiceCollectionExtensions
{
    /// <summary>
    /// Biometrics stay off until the DPIA is recorded (<c>Biometrics:Enabled</c> and <c>Biometrics:Dpia:*</c>).
    /// Then: the module (store, consents, index), consent changes from the centre, deletion events to the
    /// outbox, and the face pipeline (<c>Biometrics:Face</c>) for the gate, the till and enrolment.
    /// </summary>
    public static IServiceCollection AddEdgeBiometrics(this IServiceCollection services, IConfiguration configuration)
    {
        var biometrics = configuration.GetSection(BiometricsOptions.Section).Get<BiometricsOptions>() ?? new BiometricsOptions();
        if (!biometrics.Enabled)
            return services;
        services.AddSingleton(sp => BiometricsModule.Open(biometrics, sp.GetRequiredService<IOptions<EdgeOptions>>().Value.DataDirectory));
        services.AddSingleton<Sync.IDownlinkHandler>(sp =>
        {
            var module = sp.GetRequiredService<BiometricsModule>();
            // The database lets a snapshot's end revoke the centre's consents it no longer lists (docs/sync-protocol.md §5.4).
            return new Sync.BiometricsHandlers(module.Consents, pupil => module.Store.Count(pupil),
                module.Transfer(sp.GetRequiredService<IOptions<EdgeOptions>>().Value.SchoolId), module.Database);
        });
        // Templates of a pupil moving to another school leave sealed for that school's key (docs/sync-protocol.md §5.3).
        services.AddSingleton<Sync.IDownlinkHandler>(sp => new Sync.TemplateExportHandlers(
            sp.GetRequiredService<BiometricsModule>().Transfer(sp.GetRequiredService<IOptions<EdgeOptions>>().Value.SchoolId)));
        services.AddSingleton(sp => new Sync.BiometricEventsRelay(sp.GetRequiredService<BiometricsModule>().Events,
            EdgeDatabase.Open(sp.GetRequiredService<IOptions<EdgeOptions>>().Value.ResolvedDatabasePath)));
        services.AddHostedService<Sync.BiometricEventsRelayService>();
        services.AddHostedService<BiometricsHousekeeping>();

        var face = configuration.GetSection(FaceRecognition.Section).Get<FacePipelineOptions>() ?? new FacePipelineOptions();
        services.AddSingleton(sp => new FaceRecognition(sp.GetRequiredService<BiometricsModule>(), face));
        services.AddHostedService<FaceRecognitionWarmUp>();
        return services;
    }
}
