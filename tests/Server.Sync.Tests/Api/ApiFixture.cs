using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Kezekshi.Server.Sync.Hosting;
using Kezekshi.Server.Sync.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Server.Sync.Tests.Api;

/// <summary>The centre service as it runs (Kestrel on a free loopback port, real PostgreSQL), called over HTTP with each role's key.</summary>
public abstract class ApiFixture : DomainFixture
{
    protected const string AdminKey = "admin-key-0123456789abcdef";
    protected const string RegionKey = "region-key-0123456789abcdef";
    protected const string PortalKey = "portal-key-0123456789abcdef";

    private WebApplication? _app;
    private HttpClient? _http;

    /// <summary>An answer: status, body as JSON (default when empty), and the response for headers.</summary>
    protected sealed record Answer(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)
    {
        /// <summary>The problem's message for the named field (400 validation problems).</summary>
        public string FieldError(string field) => Body.GetProperty("errors").GetProperty(field)[0].GetString()!;
    }

    [OneTimeSetUp]
    public async Task StartServiceAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration["ConnectionStrings:Centre"] = ConnectionString;
        builder.Configuration["Centre:ApiKeys:admin"] = AdminKey;
        builder.Configuration["Centre:ApiKeys:region"] = RegionKey;
        builder.Configuration["Centre:ApiKeys:ParentPortal"] = PortalKey; // the spelling an environment variable can carry
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddCentre();
        _app = builder.Build();
        _app.MapCentre();
        await _app.StartAsync();
        string address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _http = new HttpClient { BaseAddress = new Uri(address) };
    }

    [OneTimeTearDown]
    public async Task StopServiceAsync()
    {
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    protected Task<Answer> GetAsync(string path, string? key = AdminKey) => SendAsync(HttpMethod.Get, path, null, key);

    protected Task<Answer> PostAsync(string path, string? json, string? key = AdminKey) => SendAsync(HttpMethod.Post, path, json, key);

    protected Task<Answer> PutAsync(string path, string? json, string? key = AdminKey) => SendAsync(HttpMethod.Put, path, json, key);

    protected async Task<Answer> SendAsync(HttpMethod method, string path, string? json, string? key)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (key is not null) request.Headers.Add("X-Api-Key", key);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        var response = await _http!.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return new Answer(response.StatusCode, body, response);
    }

    /// <summary>Creates class 5Б in <paramref name="school"/> and enrols a pupil over HTTP; returns the pupil ID.</summary>
    protected async Task<long> EnrolOverHttpAsync(string school, string fullName = "Айгерим Сейтқали")
    {
        var created = await PostAsync($"/api/schools/{school}/classes", """{ "name": "5Б", "grade": 5 }""");
        long classId = created.Body.GetProperty("classId").GetInt64();
        var pupil = await PostAsync("/api/pupils", $$"""{ "classId": {{classId}}, "fullName": "{{fullName}}" }""");
        Assert.That(pupil.Status, Is.EqualTo(HttpStatusCode.Created), pupil.Body.ToString());
        return pupil.Body.GetProperty("pupilId").GetInt64();
    }
}
