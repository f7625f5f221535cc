using System.Globalization;
using Kezekshi.Edge.Agent.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Web.Endpoints;

/// <summary>Sign-in body.</summary>
public sealed record LoginRequest(string? Name, string? Password);

/// <summary>Password change body.</summary>
public sealed record PasswordChangeRequest(string? Current, string? New);

/// <summary>Who is signed in, and the token their POSTs must carry.</summary>
public sealed record MeResponse(string Name, string Role, string CsrfToken, bool MustChangePassword, string Home);

/// <summary>Sign in, sign out, change password, who am I.</summary>
internal static partial class AuthEndpoints
{
    // A hash to check unknown names against, so that "no such account" takes as long as "wrong password".
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, PasswordHash> s_dummy = new();

    public static void Map(WebApplication app)
    {
        app.MapPost("/api/login", Login).AllowAnonymousWithLoginCsrf("signing in");
        app.MapPost("/api/logout", Logout).RequireSignedIn();
        app.MapGet("/api/me", Me).RequireSignedIn();
        app.MapPost("/api/account/password", ChangePassword).RequireSignedIn();
    }

    public static string Home(WebRole role) => role switch
    {
        WebRole.Cashier => "/till",
        WebRole.Librarian => "/library",
        WebRole.Office => "/office",
        _ => "/it",
    };

    private static IResult Login(LoginRequest request, HttpContext http, AccountStore accounts, LoginThrottle throttle, WebContext context)
    {
        var logger = context.Loggers.CreateLogger("Kezekshi.Edge.Agent.Web");
        string address = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        string name = request.Name?.Trim() ?? "";
        string password = request.Password ?? "";
        var now = context.Time.GetUtcNow();
        if (throttle.LockedUntil(address) is { } addressLock)
            return Locked($"Too many wrong passwords from this computer. Try again in {Minutes(addressLock - now)}, or ask school IT.");

        var account = name.Length == 0 ? null : accounts.Find(name);
        if (account is null)
        {
            PasswordHasher.Verify(password, s_dummy.GetOrAdd(context.PasswordIterations, i => PasswordHasher.Hash("not-a-password-of-anyone", i)));
            WebLog.LoginFailed(logger, name, address);
            return throttle.RecordFailure(address) is { } until
                ? Locked($"Too many wrong passwords from this computer. Try again in {Minutes(until - now)}, or ask school IT.")
                : WrongPassword();
        }
        if (account.LockedUntil is { } accountLock && accountLock > now)
            return Locked(AccountLockedMessage(account.Name, accountLock - now));
        if (account.Disabled)
            return Results.Json(new ApiError("This account is disabled. Ask school IT (kezekshi-edge users enable).", "disabled"), statusCode: StatusCodes.Status403Forbidden);

        if (accounts.CheckPassword(account.Id, password) != true)
        {
            WebLog.LoginFailed(logger, account.Name, address);
            var accountLocked = accounts.RecordFailure(account.Id, context.Options.MaxFailuresPerAccount, TimeSpan.FromMinutes(context.Options.LockoutMinutes));
            var addressLocked = throttle.RecordFailure(address);
            if (accountLocked is { } until)
            {
                WebLog.AccountLocked(logger, account.Name, address, context.Options.MaxFailuresPerAccount);
                return Locked(AccountLockedMessage(account.Name, until - now));
            }
            if (addressLocked is { } a) return Locked($"Too many wrong passwords from this computer. Try again in {Minutes(a - now)}, or ask school IT.");
            return WrongPassword();
        }

        accounts.RecordSuccess(account.Id);
        throttle.RecordSuccess(address);
        var (token, session) = accounts.CreateSession(account, TimeSpan.FromHours(context.Options.SessionHours), address);
        SetSessionCookie(http, token, session.ExpiresAt);
        WebLog.SignedIn(logger, account.Name, WebRoles.Format(account.Role), address);
        return Results.Json(new MeResponse(session.Name, WebRoles.Format(session.Role), session.CsrfToken, session.MustChangePassword,
            session.MustChangePassword ? "/password" : Home(session.Role)), WebJsonContext.Default.MeResponse);
    }

    private static IResult Logout(HttpContext http, AccountStore accounts)
    {
        if (http.Request.Cookies[WebAuth.SessionCookie] is { Length: > 0 } token) accounts.EndSession(token);
        http.Response.Cookies.Delete(WebAuth.SessionCookie, new CookieOptions { Path = "/", HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps });
        return Results.Json(new ApiError("Signed out.", "ok"), WebJsonContext.Default.ApiError);
    }

    private static IResult Me(HttpContext http)
    {
        var session = WebAuth.Session(http)!;
        return Results.Json(new MeResponse(session.Name, WebRoles.Format(session.Role), session.CsrfToken, session.MustChangePassword,
            session.MustChangePassword ? "/password" : Home(session.Role)), WebJsonContext.Default.MeResponse);
    }

    private static IResult ChangePassword(PasswordChangeRequest request, HttpContext http, AccountStore accounts, WebContext context)
    {
        var session = WebAuth.Session(http)!;
        if (accounts.CheckPassword(session.AccountId, request.Current ?? "") != true)
            return Results.Json(new ApiError("The current password is wrong.", "wrong-password"), WebJsonContext.Default.ApiError, statusCode: StatusCodes.Status400BadRequest);
        string fresh = request.New ?? "";
        if (PasswordHasher.Weakness(fresh, session.Name) is { } weakness)
            return Results.Json(new ApiError(weakness, "weak-password"), WebJsonContext.Default.ApiError, statusCode: StatusCodes.Status400BadRequest);
        if (fresh == request.Current)
            return Results.Json(new ApiError("Choose a password different from the one-time password.", "weak-password"), WebJsonContext.Default.ApiError, statusCode: StatusCodes.Status400BadRequest);
        accounts.SetPassword(session.AccountId, fresh, mustChangePassword: false);
        // Setting a password signs out every session of the account (a stolen cookie dies with the old password); start a new one here.
        var account = accounts.List().Single(a => a.Id == session.AccountId);
        var (token, renewed) = accounts.CreateSession(account, TimeSpan.FromHours(context.Options.SessionHours), http.Connection.RemoteIpAddress?.ToString());
        SetSessionCookie(http, token, renewed.ExpiresAt);
        return Results.Json(new MeResponse(renewed.Name, WebRoles.Format(renewed.Role), renewed.CsrfToken, false, Home(renewed.Role)), WebJsonContext.Default.MeResponse);
    }

    private static void SetSessionCookie(HttpContext http, string token, DateTimeOffset expires) =>
        http.Response.Cookies.Append(WebAuth.SessionCookie, token, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = http.Request.IsHttps,
            Path = "/",
            Expires = expires,
            IsEssential = true,
        });

    private static IResult WrongPassword() =>
        Results.Json(new ApiError("Wrong name or password.", "wrong-password"), WebJsonContext.Default.ApiError, statusCode: StatusCodes.Status401Unauthorized);

    private static IResult Locked(string message) =>
        Results.Json(new ApiError(message, "locked-out"), WebJsonContext.Default.ApiError, statusCode: StatusCodes.Status429TooManyRequests);

    private static string AccountLockedMessage(string name, TimeSpan left) =>
        $"The account '{name}' is locked after too many wrong passwords. Try again in {Minutes(left)}, or ask school IT to reset it (kezekshi-edge users reset --name {name}).";

    private static string Minutes(TimeSpan left)
    {
        int minutes = Math.Max(1, (int)Math.Ceiling(left.TotalMinutes));
        return minutes.ToString(CultureInfo.InvariantCulture) + (minutes == 1 ? " minute" : " minutes");
    }
}
