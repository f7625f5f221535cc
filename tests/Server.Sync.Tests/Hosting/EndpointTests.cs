using System.Net;
using System.Text.Json;
using Kezekshi.Server.Sync.Hosting;
using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Kezekshi.Server.Sync.Tests.Hosting;

public sealed class EndpointTests : CentreFixture
{
    [Test]
    public async Task Health_and_school_status_answer_over_http()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration["ConnectionStrings:Centre"] = ConnectionString;
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddCentre();
        await using var app = builder.Build();
        app.MapCentre();
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        var ingestor = app.Services.GetRequiredService<EventIngestor>();
        var epoch = Guid.NewGuid();
        await ingestor.IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, epoch, 1, 10), CancellationToken.None);
        await ingestor.IngestAsync(Batches.Topic(SchoolA), Batches.Passages(SchoolA, epoch, 21, 30), CancellationToken.None);

        using var health = await http.GetAsync(new Uri("/health", UriKind.Relative));
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK), await health.Content.ReadAsStringAsync());

        using var status = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/api/schools/{SchoolA}/status", UriKind.Relative)));
        var root = status.RootElement;
        Assert.That(root.GetProperty("watermark").GetInt64(), Is.EqualTo(10));
        Assert.That(root.GetProperty("lag").GetInt64(), Is.EqualTo(20));
        Assert.That(root.GetProperty("epoch").GetGuid(), Is.EqualTo(epoch));
        Assert.That(root.GetProperty("lastSeen").ValueKind, Is.EqualTo(JsonValueKind.String));

        using var unknown = await http.GetAsync(new Uri("/api/schools/sch-9999/status", UriKind.Relative));
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(address, Does.StartWith("http://127.0.0.1:"));
        await app.StopAsync();
    }
}
