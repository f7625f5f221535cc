using System.Net;
using System.Security.Cryptography.X509Certificates;
using Kezekshi.Edge.Agent.Web.Endpoints;
using Kezekshi.Edge.Agent.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Web;

/// <summary>The web UI's configuration is unsafe or unusable; the message says what to change.</summary>
public sealed class WebConfigurationException : Exception
{
    public WebConfigurationException() { }
    public WebConfigurationException(string message) : base(message) { }
    public WebConfigurationException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Builds the agent's local web UI on Kestrel: pages, their APIs, live streams, sessions and the security
/// headers. Used by the <c>run</c> host (<see cref="WebUiService"/>), the demo and the tests, so all three serve
/// exactly the same thing.
/// </summary>
public static class EdgeWebHost
{
    /// <summary>Builds (does not start) the web application for <paramref name="context"/>.</summary>
    public static WebApplication Create(WebContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var urls = CheckUrls(context.Options);
        if (!File.Exists(Path.Combine(context.WebRoot, "pages", "login.html")))
            throw new WebConfigurationException($"The web UI's files are missing from {context.WebRoot} (pages/login.html). Reinstall the agent, or set Web:Enabled=false to run the gates without the UI.");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        // Only what the agent passes in: no appsettings.json or ASPNETCORE_ variables reconfiguring the UI behind IT's back.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(context.Loggers);
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseUrls([.. urls]);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 1024 * 1024;
            if (context.Options.CertificatePath is { Length: > 0 } certificate)
            {
                kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = LoadCertificate(certificate, context.Options.CertificatePassword));
            }
        });
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, WebJsonContext.Default));
        builder.Services.AddSingleton(context);
        builder.Services.AddSingleton(new AccountStore(context.Database, context.Time) { Iterations = context.PasswordIterations });
        builder.Services.AddSingleton(new LoginThrottle(context.Options.MaxFailuresPerAddress, TimeSpan.FromMinutes(context.Options.LockoutMinutes), context.Time));
        builder.Services.AddSingleton(new Board.BoardQuery(context));
        // One ledger object for the whole UI: it serialises its own writes.
        builder.Services.AddSingleton(_ => context.Canteen ?? new Ledgers.Canteen.CanteenLedger(context.Database));
        builder.Services.AddSingleton(_ => context.Library ?? new Ledgers.Library.LibraryDesk(context.Database));
        builder.Services.AddSingleton(new Biometrics.WebFace(context.Face, context.Time));

        var app = builder.Build();
        var accounts = app.Services.GetRequiredService<AccountStore>();
        app.Use(async (http, next) =>
        {
            // Security headers on everything: no inline script anywhere, no framing, no referrer leaving the school.
            var headers = http.Response.Headers;
            headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; media-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            if (http.Request.Path.StartsWithSegments("/api")) headers.CacheControl = "no-store";
            if (http.Request.Cookies[WebAuth.SessionCookie] is { Length: > 0 } token)
            {
                var session = accounts.FindSession(token);
                WebAuth.SetSession(http, session);
            }
            await next(http).ConfigureAwait(false);
        });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new PhysicalFileProvider(Path.Combine(context.WebRoot, "assets")),
            RequestPath = "/assets",
        });
        AuthEndpoints.Map(app);
        PageEndpoints.Map(app);
        BoardEndpoints.Map(app);
        ItEndpoints.Map(app);
        TillEndpoints.Map(app);
        TillFaceEndpoints.Map(app);
        BiometricsEndpoints.Map(app);
        LibraryEndpoints.Map(app);
        OfficeEndpoints.Map(app);
        return app;
    }

    /// <summary>The addresses Kestrel really listens on (after start; port 0 becomes the chosen port).</summary>
    public static IReadOnlyList<string> ListeningUrls(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
    }

    /// <summary>
    /// Splits <see cref="WebOptions.Urls"/> and refuses any address that is not loopback unless
    /// <see cref="WebOptions.AllowRemote"/> is set: the UI shows pupils' names and moves money.
    /// </summary>
    public static IReadOnlyList<string> CheckUrls(WebOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var urls = options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (urls.Length == 0) throw new WebConfigurationException("Web:Urls is empty. Set it to e.g. http://127.0.0.1:8080, or set Web:Enabled=false.");
        foreach (var url in urls)
        {
            int scheme = url.IndexOf("://", StringComparison.Ordinal);
            if (scheme < 0 || !(url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
                throw new WebConfigurationException($"Web:Urls has '{url}', which is not an http:// or https:// address. Write it like http://127.0.0.1:8080.");
            string rest = url[(scheme + 3)..].TrimEnd('/');
            string host = rest.StartsWith('[') ? rest[..(rest.IndexOf(']', StringComparison.Ordinal) + 1)] : rest.Split(':')[0];
            if (url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) && string.IsNullOrEmpty(options.CertificatePath))
                throw new WebConfigurationException($"Web:Urls has the HTTPS address '{url}' but Web:CertificatePath is not set. Give a PKCS#12 (.pfx) certificate file, or use http:// on 127.0.0.1.");
            if (!options.AllowRemote && !IsLoopback(host))
                throw new WebConfigurationException($"Web:Urls has '{url}', which other computers could reach. The web UI shows pupils' data and takes payments, so it listens on 127.0.0.1 unless you decide otherwise: set Web:AllowRemote=true to allow it (and prefer https:// with Web:CertificatePath), or use http://127.0.0.1:<port>.");
        }
        return urls;
    }

    private static bool IsLoopback(string host)
    {
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
    }

    private static X509Certificate2 LoadCertificate(string path, string? password)
    {
        try
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new WebConfigurationException($"Cannot load the web UI's certificate {path}: {e.Message}. Check the file is a PKCS#12 (.pfx) file readable by the service user and Web:CertificatePassword is right.", e);
        }
    }
}
