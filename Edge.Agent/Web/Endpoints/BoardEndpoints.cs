using System.Text.Json;
using Kezekshi.Edge.Agent.Web.Board;
using Kezekshi.Edge.Agent.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Kezekshi.Edge.Agent.Web.Endpoints;

/// <summary>The hall board: a snapshot, and a live stream that sends a new snapshot whenever it changed.</summary>
internal static class BoardEndpoints
{
    private static readonly WebRole[] s_anyone = [];

    public static void Map(WebApplication app)
    {
        app.MapGet("/api/board", (BoardQuery board) => Results.Json(board.Build(), WebJsonContext.Default.BoardSnapshot)).RequireWebRole(s_anyone);
        app.MapGet("/api/board/stream", StreamAsync).RequireWebRole(s_anyone);
    }

    private static async Task StreamAsync(HttpContext http, BoardQuery board, WebContext context)
    {
        var cancellationToken = http.RequestAborted;
        ServerSentEvents.Begin(http);
        string? last = null;
        long seenVersion = -1;
        long lastBuilt = 0;
        long lastSent = context.Time.GetTimestamp();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // A decision changes the board at once; a pass sensor changes presence a moment later, so also look every 2 s.
                long version = context.Feed.Version;
                if (version != seenVersion || context.Time.GetElapsedTime(lastBuilt) >= TimeSpan.FromSeconds(2))
                {
                    seenVersion = version;
                    lastBuilt = context.Time.GetTimestamp();
                    string json = JsonSerializer.Serialize(board.Build(), WebJsonContext.Default.BoardSnapshot);
                    if (json != last)
                    {
                        await ServerSentEvents.WriteAsync(http.Response, "board", json, cancellationToken).ConfigureAwait(false);
                        last = json;
                        lastSent = context.Time.GetTimestamp();
                    }
                }
                if (context.Time.GetElapsedTime(lastSent) >= TimeSpan.FromSeconds(15))
                {
                    await ServerSentEvents.KeepAliveAsync(http.Response, cancellationToken).ConfigureAwait(false);
                    lastSent = context.Time.GetTimestamp();
                }
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The screen went away.
        }
    }
}
