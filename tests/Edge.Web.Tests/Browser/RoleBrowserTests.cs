using static Microsoft.Playwright.Assertions;

namespace Kezekshi.Edge.Web.Tests.Browser;

/// <summary>Roles in the browser: what a person sees when they open a page their account may not use.</summary>
[Category("EndToEnd")]
[NonParallelizable]
public sealed class RoleBrowserTests
{
    private WebSchool _school = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _school = await WebSchool.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _school.DisposeAsync();

    [Test]
    public async Task A_cashier_cannot_open_the_IT_console()
    {
        await using var browser = await BrowserSession.OpenAsync(_school);
        await browser.SignInAsync("cashier1");

        var response = await browser.Page.GotoAsync("/it");

        await Expect(browser.Page.Locator("#forbidden-message")).ToContainTextAsync("may not open the IT console");
        await browser.ScreenshotAsync("it-console-refused");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response!.Status, Is.EqualTo(403));
            Assert.That(await browser.Page.Locator("#devices").CountAsync(), Is.Zero, "none of the console was sent");
        }
    }

    [Test]
    public async Task An_IT_admin_sees_the_console_with_the_link_to_consents_and_enrolment_and_no_made_up_data()
    {
        await using var browser = await BrowserSession.OpenAsync(_school);
        await browser.SignInAsync("itadmin1", next: "/it");

        await Expect(browser.Page.Locator("#outbox")).Not.ToHaveTextAsync("loading…");
        await Expect(browser.Page.Locator("#biometrics-link")).ToHaveAttributeAsync("href", "/it/biometrics");
        await browser.ScreenshotAsync("it-console");
        Assert.That(await browser.Page.TextContentAsync("#agent-state"), Does.Contain("starting or stopped"), "no gates in this test: the console says so");
    }

    [Test]
    public async Task A_new_account_must_choose_its_own_password_before_using_its_page()
    {
        _school.Accounts.Add("newoffice", Kezekshi.Edge.Agent.Web.Security.WebRole.Office, "OneTime-Pass42", mustChangePassword: true);
        await using var browser = await BrowserSession.OpenAsync(_school);
        await browser.SignInAsync("newoffice", "OneTime-Pass42");

        await Expect(browser.Page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/password$"));
        await browser.Page.FillAsync("#current", "OneTime-Pass42");
        await browser.Page.FillAsync("#fresh", "a long office passphrase");
        await browser.Page.FillAsync("#again", "a long office passphrase");
        await browser.Page.ClickAsync("#password-button");

        await Expect(browser.Page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/office$"));
        Assert.That(_school.Accounts.Find("newoffice")!.MustChangePassword, Is.False);
    }
}
