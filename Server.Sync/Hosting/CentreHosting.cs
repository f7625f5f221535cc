using System.Text.Json.Serialization;
using Kezekshi.Server.Sync.Api;
using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Store;
using Microsoft.Extensions.Options;

namespace Kezekshi.Server.Sync.Hosting;

/// <summary>Options of the centre sync service (section <c>Centre</c>; the connection string is <c>ConnectionStrings:Centre</c>).</summary>
public sealed class CentreOptions
{
    /// <summary>Where the HTTP endpoints listen when no <c>--urls</c>/<c>ASPNETCORE_URLS</c> is given: loopback only.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>Npgsql connection string of the centre database.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Ingest limits.</summary>
    public IngestOptions Ingest { get; set; } = new();

    /// <summary>Schools registered (or updated) at start, for a first install and the demo; the API registers the rest.</summary>
    public List<SchoolRegistration> Schools { get; set; } = [];

    /// <summary>
    /// <c>Centre:SnapshotAbove</c>: a school that says hello at version 0 (new or reset) while its feed is longer than this
    /// many changes starts at a snapshot instead of replaying the feed (docs/sync-protocol.md §5.4).
    /// </summary>
    public long SnapshotAbove { get; set; } = 5_000;

    /// <summary>The brokers and this worker's certificate.</summary>
    public CentreMqttOptions Mqtt { get; set; } = new();
}

/// <summary>A school in the configuration: <c>Centre:Schools:0:Id</c>, <c>:Region</c>, <c>:Name</c>.</summary>
public sealed class SchoolRegistration
{
    public string Id { get; set; } = "";
    public string Region { get; set; } = "";
    public string Name { get; set; } = "";
}

/// <summary>The body of <c>GET /health</c>.</summary>
public sealed record HealthReport(string Status, string Database);

/// <summary>Registration of the centre sync service: <c>builder.AddCentre()</c>, then <c>app.MapCentre()</c>.</summary>
public static class CentreHosting
{
    /// <summary>Adds the database, its migration at start, the ingestor and the JSON metadata of the endpoints; binds to loopback by default.</summary>
    public static WebApplicationBuilder AddCentre(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
            builder.WebHost.UseUrls(CentreOptions.DefaultUrl);

        builder.Services.AddOptions<CentreOptions>()
            .Bind(builder.Configuration.GetSection("Centre"))
            .PostConfigure(o =>
            {
                if (string.IsNullOrEmpty(o.ConnectionString)) o.ConnectionString = builder.Configuration.GetConnectionString("Centre") ?? "";
            })
            .Validate(o => !string.IsNullOrEmpty(o.ConnectionString),
                "No centre database configured: set ConnectionStrings:Centre (e.g. ConnectionStrings__Centre=\"Host=127.0.0.1;Port=5432;Username=kezekshi;Database=kezekshi_sync\").")
            .ValidateOnStart();
        builder.Services.AddSingleton(sp => CentreDatabase.Create(sp.GetRequiredService<IOptions<CentreOptions>>().Value.ConnectionString,
            sp.GetRequiredService<ILogger<CentreDatabase>>()));
        builder.Services.AddSingleton(sp => new EventIngestor(sp.GetRequiredService<CentreDatabase>(),
            sp.GetRequiredService<IOptions<CentreOptions>>().Value.Ingest, sp.GetRequiredService<ILogger<EventIngestor>>()));
        builder.Services.AddHostedService<MigrationService>();
        builder.Services.AddSingleton(sp => new Downlink.DownlinkFeed(sp.GetRequiredService<CentreDatabase>()));
        builder.Services.AddHostedService<CentreMqttService>();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, CentreHttpJsonContext.Default));
        builder.AddCentreApi();
        return builder;
    }

    /// <summary>Maps <c>GET /health</c> (the database answers and has the latest schema) and <c>GET /api/schools/{id}/status</c>.</summary>
    public static WebApplication MapCentre(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/health", async (CentreDatabase database, CancellationToken ct) =>
        {
            var (healthy, detail) = await database.CheckHealthAsync(ct).ConfigureAwait(false);
            return Results.Json(new HealthReport(healthy ? "healthy" : "unhealthy", detail), CentreHttpJsonContext.Default.HealthReport,
                statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        app.MapGet("/api/schools/{id}/status", async (string id, CentreDatabase database, CancellationToken ct) =>
        {
            var status = await database.GetSchoolStatusAsync(id, ct).ConfigureAwait(false);
            return status is null ? Results.NotFound() : Results.Json(status, CentreHttpJsonContext.Default.SchoolStatus);
        });
        app.MapCentreApi();
        return app;
    }

    /// <summary>Migrates the centre database before the service takes traffic; a failure stops the start with the reason.</summary>
    private sealed class MigrationService(CentreDatabase database, IOptions<CentreOptions> options, ILogger<MigrationService> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await database.MigrateAsync(cancellationToken).ConfigureAwait(false);
            foreach (var school in options.Value.Schools)
                await database.RegisterSchoolAsync(school.Id, school.Region, string.IsNullOrEmpty(school.Name) ? school.Id : school.Name, cancellationToken).ConfigureAwait(false);
            SyncLog.DatabaseReady(logger, await database.SchemaVersionAsync(cancellationToken).ConfigureAwait(false));
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(HealthReport))]
[JsonSerializable(typeof(SchoolStatus))]
internal sealed partial class CentreHttpJsonContext : JsonSerializerContext;
