using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Kezekshi.Edge.Agent.Web.Endpoints;

/// <summary>Writing a text/event-stream response by hand (the HTML5 EventSource format: "event:", "data:", blank line).</summary>
internal static class ServerSentEvents
{
    public static void Begin(HttpContext http)
    {
        http.Response.ContentType = "text/event-stream; charset=utf-8";
        http.Response.Headers.CacheControl = "no-store";
        // A reverse proxy must not hold the stream back (nginx buffers by default).
        http.Response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    public static async Task WriteAsync(HttpResponse response, string eventName, string json, CancellationToken cancellationToken)
    {
        var text = new StringBuilder().Append("event: ").Append(eventName).Append('\n').Append("data: ").Append(json).Append("\n\n").ToString();
        await response.WriteAsync(text, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A comment line: keeps proxies and the browser from closing an idle stream.</summary>
    public static async Task KeepAliveAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        await response.WriteAsync(": keep-alive\n\n", cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
