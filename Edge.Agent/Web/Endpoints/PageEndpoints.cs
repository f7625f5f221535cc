using System.Net;
using Kezekshi.Edge.Agent.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Kezekshi.Edge.Agent.Web.Endpoints;

/// <summary>The pages. Each checks the session and the role on the server before sending a byte of the page.</summary>
internal static class PageEndpoints
{
    /// <summary>Page path, file, title, and the roles that may open it (empty: any signed-in account).</summary>
    public static readonly IReadOnlyList<(string Path, string File, string Title, WebRole[] Roles)> Pages =
    [
        ("/till", "till.html", "the till", [WebRole.Cashier]),
        ("/library", "library.html", "the library desk", [WebRole.Librarian]),
        ("/board", "board.html", "the board", []),
        ("/office", "office.html", "the office", [WebRole.Office]),
        ("/rollcall", "rollcall.html", "the evacuation roll-call", [WebRole.Office, WebRole.ItAdmin]),
        ("/it", "it.html", "the IT console", [WebRole.ItAdmin]),
        ("/it/biometrics", "biometrics.html", "consents and enrolment", [WebRole.ItAdmin]),
    ];

    public static void Map(WebApplication app)
    {
        app.MapGet("/", (HttpContext http) => WebAuth.Session(http) is { } s
            ? Results.Redirect(s.MustChangePassword ? "/password" : AuthEndpoints.Home(s.Role))
            : Results.Redirect("/login"));
        // Browsers ask for it on every page; there is no icon, and a 404 would clutter the console.
        app.MapGet("/favicon.ico", () => Results.NoContent());
        app.MapGet("/login", (HttpContext http, WebContext context) =>
        {
            // The sign-in form's double-submit token: readable by the page's script, useless to any other site.
            string token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
            http.Response.Cookies.Append(WebAuth.LoginCsrfCookie, token, new CookieOptions { HttpOnly = false, SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps, Path = "/" });
            return Page(context, "login.html");
        });
        app.MapGet("/password", (HttpContext http, WebContext context) =>
            WebAuth.Session(http) is null ? Results.Redirect("/login") : Page(context, "password.html"));
        foreach (var (path, file, title, roles) in Pages)
        {
            app.MapGet(path, (HttpContext http, WebContext context) =>
            {
                var session = WebAuth.Session(http);
                if (session is null) return Results.Redirect("/login?next=" + Uri.EscapeDataString(path));
                if (session.MustChangePassword) return Results.Redirect("/password");
                if (roles.Length > 0 && !roles.Contains(session.Role))
                    return Forbidden(session, title, roles);
                return Page(context, file);
            });
        }
    }

    private static IResult Page(WebContext context, string file) =>
        Results.File(Path.Combine(context.WebRoot, "pages", file), "text/html; charset=utf-8");

    private static IResult Forbidden(WebSession session, string title, WebRole[] roles)
    {
        string html = $$"""
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not allowed</title>
            <link rel="stylesheet" href="/assets/app.css"></head>
            <body class="forbidden"><main><h1>Not allowed</h1>
            <p id="forbidden-message">Your account <b>{{WebUtility.HtmlEncode(session.Name)}}</b> ({{WebRoles.Format(session.Role)}}) may not open {{WebUtility.HtmlEncode(title)}}.
            It needs the role {{string.Join(" or ", roles.Select(WebRoles.Format))}}; ask school IT if you need it.</p>
            <p><a class="button" href="{{AuthEndpoints.Home(session.Role)}}">Back to my page</a></p></main></body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", System.Text.Encoding.UTF8, StatusCodes.Status403Forbidden);
    }
}
