using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Kezekshi.Edge.Web.Tests.Http;

/// <summary>A browser-like HTTP client: fetches the sign-in page (for its CSRF cookie), signs in, and sends the session's CSRF token.</summary>
public sealed class SignedInClient : IDisposable
{
    private SignedInClient(HttpClient http, CookieContainer cookies, string? csrf)
    {
        Http = http;
        Cookies = cookies;
        Csrf = csrf;
    }

    public HttpClient Http { get; }
    public CookieContainer Cookies { get; }
    public string? Csrf { get; }

    /// <summary>Posts the sign-in form as the page does; returns the raw response.</summary>
    public static async Task<(HttpResponseMessage Response, HttpClient Http, CookieContainer Cookies)> LoginAsync(WebSchool school, string name, string password, CookieContainer? cookies = null)
    {
        cookies ??= new CookieContainer();
        var http = school.NewClient(cookies);
        using (var page = await http.GetAsync(new Uri("/login", UriKind.Relative))) Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        string loginCsrf = cookies.GetCookies(school.BaseAddress)["kz_login_csrf"]?.Value ?? "";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/login") { Content = JsonContent.Create(new { name, password }) };
        request.Headers.Add("X-CSRF-Token", loginCsrf);
        return (await http.SendAsync(request), http, cookies);
    }

    public static async Task<SignedInClient> SignInAsync(WebSchool school, string name, string password = WebSchool.Password)
    {
        var (response, http, cookies) = await LoginAsync(school, name, password);
        using (response)
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
            using var me = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return new SignedInClient(http, cookies, me.RootElement.GetProperty("csrfToken").GetString());
        }
    }

    public Task<HttpResponseMessage> GetAsync(string path) => Http.GetAsync(new Uri(path, UriKind.Relative));

    /// <summary>POSTs JSON; <paramref name="withCsrf"/> false leaves the token out, as a forged request from another site would.</summary>
    public Task<HttpResponseMessage> PostAsync(string path, object body, bool withCsrf = true, string? csrfOverride = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (withCsrf) request.Headers.Add("X-CSRF-Token", csrfOverride ?? Csrf);
        return Http.SendAsync(request);
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    public void Dispose() => Http.Dispose();
}
