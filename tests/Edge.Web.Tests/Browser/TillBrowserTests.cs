using Kezekshi.Edge.Agent.Demo;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Kezekshi.Edge.Web.Tests.Browser;

/// <summary>A cashier at the till in a real browser: card reader typing the card number, menu taps, the ban alert, refunds.</summary>
[Category("EndToEnd")]
[NonParallelizable]
public sealed class TillBrowserTests
{
    private WebSchool _school = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _school = await WebSchool.StartAsync();
        // Pupil 12's parent banned nuts.
        _school.Canteen.BanAllergen(12, "nuts", "parent of pupil 12", DateTimeOffset.UtcNow.AddDays(-1));
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _school.DisposeAsync();

    private async Task<BrowserSession> OpenTillAsync()
    {
        var browser = await BrowserSession.OpenAsync(_school);
        await browser.SignInAsync("cashier1");
        await Expect(browser.Page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/till$"));
        if (await browser.Page.IsVisibleAsync("#open-shift-button"))
        {
            await browser.Page.FillAsync("#opening-float", "5000");
            await browser.Page.ClickAsync("#open-shift-button");
        }
        await Expect(browser.Page.Locator("#card-input")).ToBeVisibleAsync();
        return browser;
    }

    /// <summary>A keyboard-wedge reader types the card's number and Enter into whatever has focus.</summary>
    private static async Task TapCardAsync(IPage page, int pupil)
    {
        await page.Keyboard.TypeAsync(DemoSchool.PupilCard(pupil).ToString(System.Globalization.CultureInfo.InvariantCulture));
        await page.Keyboard.PressAsync("Enter");
    }

    [Test]
    public async Task A_cashier_charges_a_pupil_and_sees_the_balance_change()
    {
        await using var browser = await OpenTillAsync();
        var page = browser.Page;
        long before = _school.Canteen.GetBalance(7);

        await TapCardAsync(page, 7);
        await Expect(page.Locator("#pupil-name")).ToHaveTextAsync("Timur Abenov");
        await Expect(page.Locator("#pupil-balance")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("2.?000"));
        await Expect(page.Locator("#pupil-photo")).ToHaveAttributeAsync("src", "/api/pupils/7/photo");
        await browser.ScreenshotAsync("pupil-identified");
        await page.ClickAsync("[data-item-code=plov]");
        await page.ClickAsync("[data-item-code=apple-juice]");
        await page.Keyboard.PressAsync("F12");

        await Expect(page.Locator("#receipt")).ToContainTextAsync("Plov");
        await Expect(page.Locator("#pupil-balance")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("1.?350"));
        await browser.ScreenshotAsync("charged");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_school.Canteen.GetBalance(7), Is.EqualTo(before - 65_000), "450 ₸ plov + 200 ₸ juice left the account");
            Assert.That(await page.TextContentAsync("#receipt"), Does.Contain("Balance now"));
            Assert.That(browser.ConsoleErrors, Is.Empty);
        }
    }

    [Test]
    public async Task An_allergen_ban_blocks_the_sale_with_a_visual_and_audible_alert()
    {
        await using var browser = await OpenTillAsync();
        var page = browser.Page;
        long before = _school.Canteen.GetBalance(12);

        await TapCardAsync(page, 12);
        await Expect(page.Locator("#pupil-bans")).ToContainTextAsync("nuts");
        await page.ClickAsync("[data-item-code=nut-cookie]");
        await page.ClickAsync("#charge-button");

        var alert = page.Locator("#ban-alert");
        await Expect(alert).ToBeVisibleAsync();
        await Expect(alert).ToContainTextAsync("BANNED BY PARENT");
        await Expect(alert).ToContainTextAsync("nuts");
        await browser.ScreenshotAsync("ban-alert");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await page.EvaluateAsync<string>("document.body.dataset.alarm"), Is.EqualTo("1"), "the alarm sounded once");
            Assert.That(await page.IsVisibleAsync("#result"), Is.False, "no receipt");
            Assert.That(_school.Canteen.GetBalance(12), Is.EqualTo(before), "nothing was charged");
        }
    }

    [Test]
    public async Task A_refund_gives_the_money_back_to_the_pupils_account()
    {
        await using var browser = await OpenTillAsync();
        var page = browser.Page;
        long before = _school.Canteen.GetBalance(21);

        await TapCardAsync(page, 21);
        await Expect(page.Locator("#pupil-name")).Not.ToBeEmptyAsync();
        await page.ClickAsync("[data-quick=borscht]");   // one tap: charged at once
        await Expect(page.Locator("#receipt")).ToContainTextAsync("Borscht");
        Assert.That(_school.Canteen.GetBalance(21), Is.EqualTo(before - 35_000));

        await page.ClickAsync("#refund-open");
        await Expect(page.Locator("#refund-amount")).ToHaveValueAsync("350.00");
        await page.FillAsync("#refund-reason", "soup was cold");
        await page.ClickAsync("#refund-button");

        await Expect(page.Locator("#result-text")).ToContainTextAsync("Refunded");
        await Expect(page.Locator("#pupil-balance")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("2.?000"));
        await browser.ScreenshotAsync("refunded");
        Assert.That(_school.Canteen.GetBalance(21), Is.EqualTo(before), "the whole sale came back");
    }
}
