using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Kezekshi.Edge.Agent.Web.Security;

/// <summary>Endpoint metadata: who may call it. Every API endpoint carries this or <see cref="PublicEndpoint"/> (a test checks).</summary>
public sealed record WebAccess(IReadOnlyList<WebRole> Roles, bool AllowedBeforePasswordChange);

/// <summary>Endpoint metadata: callable without a session (sign-in only); still CSRF-checked if it changes state.</summary>
public sealed record PublicEndpoint(string Why);

/// <summary>A JSON error body: a message for the person at the screen and a code for scripts.</summary>
public sealed record ApiError(string Error, string Code);

/// <summary>
/// Sessions, role checks and CSRF checks for the web UI's endpoints.
/// </summary>
/// <remarks>
/// CSRF: a signed-in browser gets a random token bound to its session (<c>GET /api/me</c>) and must send it in the
/// <c>X-CSRF-Token</c> header on every POST (the synchronizer-token pattern); the sign-in form, which has no session
/// yet, uses a double-submit cookie. Cookies are also SameSite=Strict, so a foreign page cannot send them at all;
/// the token is the second, independent line of defence. Comparison is constant-time.
/// </remarks>
public static class WebAuth
{
    public const string SessionCookie = "kz_session";
    public const string LoginCsrfCookie = "kz_login_csrf";
    public const string CsrfHeader = "X-CSRF-Token";

    /// <summary>The signed-in session of this request, if any (set by the session middleware).</summary>
    public static WebSession? Session(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items.TryGetValue(typeof(WebSession), out var value) ? value as WebSession : null;
    }

    internal static void SetSession(HttpContext context, WebSession? session) => context.Items[typeof(WebSession)] = session;

    /// <summary>Only these roles may call the endpoint; checked on the server before the handler runs.</summary>
    public static RouteHandlerBuilder RequireWebRole(this RouteHandlerBuilder builder, params WebRole[] roles) => Guard(builder, roles, false);

    /// <summary>Any signed-in account, even one that still has to change its one-time password.</summary>
    public static RouteHandlerBuilder RequireSignedIn(this RouteHandlerBuilder builder) => Guard(builder, [], true);

    /// <summary>Callable without a session (sign-in); POSTs still need the double-submit token.</summary>
    public static RouteHandlerBuilder AllowAnonymousWithLoginCsrf(this RouteHandlerBuilder builder, string why)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WithMetadata(new PublicEndpoint(why));
        return builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (!IsSafe(http.Request.Method))
            {
                string? cookie = http.Request.Cookies[LoginCsrfCookie];
                if (string.IsNullOrEmpty(cookie) || !TokensEqual(cookie, http.Request.Headers[CsrfHeader]))
                    return Results.Json(new ApiError("The sign-in form has expired or was not sent by this page. Reload the page and try again.", "csrf"), statusCode: StatusCodes.Status403Forbidden);
            }
            return await next(context).ConfigureAwait(false);
        });
    }

    private static RouteHandlerBuilder Guard(RouteHandlerBuilder builder, WebRole[] roles, bool beforePasswordChange)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WithMetadata(new WebAccess(roles, beforePasswordChange));
        return builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var session = Session(http);
            if (session is null)
                return Results.Json(new ApiError("You are not signed in (or your session ended). Sign in again.", "signed-out"), statusCode: StatusCodes.Status401Unauthorized);
            if (!IsSafe(http.Request.Method) && !TokensEqual(session.CsrfToken, http.Request.Headers[CsrfHeader]))
                return Results.Json(new ApiError("This request did not carry the page's security token (CSRF). Reload the page and try again.", "csrf"), statusCode: StatusCodes.Status403Forbidden);
            if (session.MustChangePassword && !beforePasswordChange)
                return Results.Json(new ApiError("Choose your own password first: the one you signed in with was for one use only.", "password-change-required"), statusCode: StatusCodes.Status403Forbidden);
            if (roles.Length > 0 && !roles.Contains(session.Role))
                return Results.Json(new ApiError($"Your account ({WebRoles.Format(session.Role)}) may not do this. It needs the role {string.Join(" or ", roles.Select(WebRoles.Format))}.", "forbidden"), statusCode: StatusCodes.Status403Forbidden);
            return await next(context).ConfigureAwait(false);
        });
    }

    internal static bool IsSafe(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method);

    internal static bool TokensEqual(string expected, string? presented)
    {
        if (string.IsNullOrEmpty(presented)) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(presented));
    }
}
