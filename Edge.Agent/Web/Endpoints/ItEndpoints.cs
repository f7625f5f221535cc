using System.Text.Json;
using Kezekshi.Edge.Agent.Web.Console;
using Kezekshi.Edge.Agent.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Kezekshi.Edge.Agent.Web.Endpoints;

/// <summary>The IT console: devices, gates and latency, outbox lag, the live gate log.</summary>
internal static class ItEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/api/it/status", (WebContext context) => Results.Json(ItStatusQuery.Build(context), WebJsonContext.Default.ItStatus)).RequireWebRole(WebRole.ItAdmin);
        app.MapGet("/api/it/gate-log", (WebContext context) => Results.Json(context.Feed.Recent(100).Reverse().ToList(), WebJsonContext.Default.ListGateLogEntry)).RequireWebRole(WebRole.ItAdmin);
        app.MapGet("/api/it/gate-log/stream", StreamAsync).RequireWebRole(WebRole.ItAdmin);
    }

    private static async Task StreamAsync(HttpContext http, WebContext context)
    {
        var cancellationToken = http.RequestAborted;
        ServerSentEvents.Begin(http);
        using var subscription = context.Feed.Subscribe();
        try
        {
            await ServerSentEvents.KeepAliveAsync(http.Response, cancellationToken).ConfigureAwait(false);
            while (!cancellationToken.IsCancellationRequested)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                idle.CancelAfter(TimeSpan.FromSeconds(15));
                bool more;
                try { more = await subscription.Reader.WaitToReadAsync(idle.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await ServerSentEvents.KeepAliveAsync(http.Response, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (!more) break;
                while (subscription.Reader.TryRead(out var entry))
                    await ServerSentEvents.WriteAsync(http.Response, "passage", JsonSerializer.Serialize(entry, WebJsonContext.Default.GateLogEntry), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The console was closed.
        }
    }
}
