using System.Net;
using Kezekshi.Edge.Agent.Web;
using Kezekshi.Edge.Agent.Web.Security;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Kezekshi.Edge.Web.Tests.Http;

/// <summary>Sign-in, sessions, CSRF, lock-out and role checks over real HTTP against the web UI on a loopback port.</summary>
[Category("Integration")]
[NonParallelizable]
public sealed class SecurityHttpTests
{
    private WebSchool _school = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _school = await WebSchool.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _school.DisposeAsync();

    [Test]
    public async Task A_charge_without_the_CSRF_token_is_refused_and_charges_nothing()
    {
        using var cashier = await SignedInClient.SignInAsync(_school, "cashier1");
        using (var open = await cashier.PostAsync("/api/till/shift/open", new { openingFloat = 0 })) { }
        long before = _school.Canteen.GetBalance(7);
        long plov = _school.MenuItemId("plov");
        var body = new { key = Guid.NewGuid().ToString(), pupilId = 7, lines = new[] { new { menuItemId = plov, quantity = 1 } }, payment = "account" };

        using var missing = await cashier.PostAsync("/api/till/charge", body, withCsrf: false);
        using var wrong = await cashier.PostAsync("/api/till/charge", body, csrfOverride: "0123456789ABCDEF");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That((await SignedInClient.JsonAsync(missing)).GetProperty("code").GetString(), Is.EqualTo("csrf"));
            Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(_school.Canteen.GetBalance(7), Is.EqualTo(before), "no money moved");
        }
    }

    [Test]
    public async Task Signing_in_without_the_forms_CSRF_cookie_is_refused()
    {
        using var http = _school.NewClient();
        using var response = await http.PostAsync(new Uri("/api/login", UriKind.Relative),
            System.Net.Http.Json.JsonContent.Create(new { name = "office1", password = WebSchool.Password }));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(response.Headers.Contains("Set-Cookie"), Is.False, "no session cookie was issued");
    }

    [Test]
    public async Task Five_wrong_passwords_lock_the_account_with_a_clear_message_even_for_the_right_password()
    {
        _school.Accounts.Add("locktest", WebRole.Office, WebSchool.Password, mustChangePassword: false);
        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 5; i++)
        {
            var (response, http, _) = await SignedInClient.LoginAsync(_school, "locktest", "wrong-password-" + i);
            statuses.Add(response.StatusCode);
            response.Dispose();
            http.Dispose();
        }
        var (right, rightHttp, _) = await SignedInClient.LoginAsync(_school, "locktest", WebSchool.Password);
        using var _1 = right;
        using var _2 = rightHttp;
        var body = await SignedInClient.JsonAsync(right);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(statuses.Take(4), Is.All.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(statuses[4], Is.EqualTo(HttpStatusCode.TooManyRequests), "the fifth failure locks");
            Assert.That(right.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "the right password does not open a locked account");
            Assert.That(body.GetProperty("code").GetString(), Is.EqualTo("locked-out"));
            Assert.That(body.GetProperty("error").GetString(), Does.Contain("locked").And.Contain("users reset --name locktest"));
            Assert.That(_school.Accounts.Find("locktest")!.LockedUntil, Is.Not.Null, "the lock is stored with the account");
        }

        _school.Accounts.SetPassword("locktest", WebSchool.Password + "2", mustChangePassword: false);
        var (afterReset, afterHttp, _) = await SignedInClient.LoginAsync(_school, "locktest", WebSchool.Password + "2");
        using var _3 = afterReset;
        using var _4 = afterHttp;
        Assert.That(afterReset.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a reset unlocks the account");
    }

    [Test]
    public async Task Many_wrong_passwords_from_one_address_lock_that_address_across_account_names()
    {
        await using var school = await WebSchool.StartAsync(options: new WebOptions { Urls = "http://127.0.0.1:0", MaxFailuresPerAddress = 3 });
        var statuses = new List<HttpStatusCode>();
        foreach (var name in new[] { "nobody-a", "nobody-b", "nobody-c", "office1" })
        {
            var (response, http, _) = await SignedInClient.LoginAsync(school, name, name == "office1" ? WebSchool.Password : "guess");
            statuses.Add(response.StatusCode);
            response.Dispose();
            http.Dispose();
        }
        Assert.That(statuses, Is.EqualTo(new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests }));
    }

    [Test]
    public async Task A_cashier_is_refused_the_IT_console_API_and_page_and_an_IT_admin_the_till()
    {
        using var cashier = await SignedInClient.SignInAsync(_school, "cashier1");
        using var it = await SignedInClient.SignInAsync(_school, "itadmin1");
        using var status = await cashier.GetAsync("/api/it/status");
        using var log = await cashier.GetAsync("/api/it/gate-log/stream");
        using var page = await cashier.GetAsync("/it");
        using var till = await it.PostAsync("/api/till/shift/open", new { openingFloat = 0 });
        using var itOwn = await it.GetAsync("/api/it/status");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(status.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That((await SignedInClient.JsonAsync(status)).GetProperty("code").GetString(), Is.EqualTo("forbidden"));
            Assert.That(log.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(await page.Content.ReadAsStringAsync(), Does.Contain("may not open the IT console"));
            Assert.That(till.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(itOwn.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
    }

    [Test]
    public async Task Without_a_session_the_API_answers_401_and_pages_redirect_to_sign_in()
    {
        using var http = _school.NewClient();
        using var api = await http.GetAsync(new Uri("/api/till/state", UriKind.Relative));
        using var page = await http.GetAsync(new Uri("/till", UriKind.Relative));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(page.Headers.Location?.ToString(), Is.EqualTo("/login?next=%2Ftill"));
        }
    }

    [Test]
    public async Task The_session_cookie_is_HttpOnly_and_SameSite_Strict_and_the_database_holds_only_its_hash()
    {
        var (response, http, cookies) = await SignedInClient.LoginAsync(_school, "office1", WebSchool.Password);
        using var _1 = response;
        using var _2 = http;
        string header = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("kz_session=", StringComparison.Ordinal));
        string token = cookies.GetCookies(_school.BaseAddress)["kz_session"]!.Value;
        using var connection = _school.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM web_sessions WHERE CAST(token_hash AS TEXT) = $t";
        command.Parameters.AddWithValue("$t", token);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(header, Does.Contain("httponly").IgnoreCase);
            Assert.That(header, Does.Contain("samesite=strict").IgnoreCase);
            Assert.That(header, Does.Not.Contain("secure").IgnoreCase, "plain http on loopback: Secure would stop the browser sending it");
            Assert.That(Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture), Is.Zero, "the cookie value is not stored");
        }
    }

    [Test]
    public async Task An_account_with_a_one_time_password_can_do_nothing_but_change_it()
    {
        _school.Accounts.Add("newcashier", WebRole.Cashier, "OneTime-Pass42", mustChangePassword: true, staffId: WebSchool.CashierStaffId);
        using var client = await SignedInClient.SignInAsync(_school, "newcashier", "OneTime-Pass42");
        using var before = await client.GetAsync("/api/till/state");
        using var weak = await client.PostAsync("/api/account/password", new { current = "OneTime-Pass42", @new = "short" });
        using var change = await client.PostAsync("/api/account/password", new { current = "OneTime-Pass42", @new = "my own long passphrase" });
        var renewed = (await SignedInClient.JsonAsync(change)).GetProperty("csrfToken").GetString();
        using var after = await client.GetAsync("/api/till/state");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That((await SignedInClient.JsonAsync(before)).GetProperty("code").GetString(), Is.EqualTo("password-change-required"));
            Assert.That(weak.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(change.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(renewed, Is.Not.EqualTo(client.Csrf), "a new session with a new token");
            Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
    }

    [Test]
    public void Every_API_endpoint_declares_who_may_call_it()
    {
        var endpoints = _school.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api", StringComparison.Ordinal) == true).ToList();
        var unguarded = endpoints.Where(e => e.Metadata.GetMetadata<WebAccess>() is null && e.Metadata.GetMetadata<PublicEndpoint>() is null)
            .Select(e => e.RoutePattern.RawText).ToList();
        var anonymous = endpoints.Where(e => e.Metadata.GetMetadata<PublicEndpoint>() is not null).Select(e => e.RoutePattern.RawText).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(endpoints, Has.Count.GreaterThan(10));
            Assert.That(unguarded, Is.Empty, "every /api endpoint has a role check");
            Assert.That(anonymous, Is.EqualTo(new[] { "/api/login" }), "only signing in works without a session");
        }
    }

    [Test]
    public void A_non_loopback_address_is_refused_unless_allowed_explicitly()
    {
        var refused = Assert.Throws<WebConfigurationException>(() => EdgeWebHost.CheckUrls(new WebOptions { Urls = "http://0.0.0.0:8080" }))!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(refused.Message, Does.Contain("Web:AllowRemote=true"));
            Assert.That(EdgeWebHost.CheckUrls(new WebOptions { Urls = "http://0.0.0.0:8080", AllowRemote = true }), Has.Count.EqualTo(1));
            Assert.That(EdgeWebHost.CheckUrls(new WebOptions { Urls = "http://127.0.0.1:8080;http://[::1]:8080;http://localhost:9000" }), Has.Count.EqualTo(3));
            Assert.Throws<WebConfigurationException>(() => EdgeWebHost.CheckUrls(new WebOptions { Urls = "http://*:8080" }));
            Assert.Throws<WebConfigurationException>(() => EdgeWebHost.CheckUrls(new WebOptions { Urls = "https://127.0.0.1:8443" }), "https needs a certificate");
        }
    }

    [Test]
    public async Task Responses_carry_a_content_security_policy_without_inline_script()
    {
        using var http = _school.NewClient();
        using var response = await http.GetAsync(new Uri("/login", UriKind.Relative));
        string csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.That(csp, Does.Contain("script-src 'self'").And.Not.Contain("unsafe-inline"));
    }
}
