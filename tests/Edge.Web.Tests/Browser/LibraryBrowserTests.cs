using System.Globalization;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Ledgers.Library;
using static Microsoft.Playwright.Assertions;

namespace Kezekshi.Edge.Web.Tests.Browser;

/// <summary>The library desk driven like the real one: a card reader and a barcode scanner, both typing and pressing Enter.</summary>
[Category("EndToEnd")]
[NonParallelizable]
public sealed class LibraryBrowserTests
{
    private WebSchool _school = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _school = await WebSchool.StartAsync();
        var desk = new LibraryDesk(_school.Database);
        var title = desk.AddTitle(null, "Kara Sozder", "Abai Kunanbaiuly");
        desk.AddCopy(title.Id, "LIB-0042", DateTimeOffset.UtcNow);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _school.DisposeAsync();

    [Test]
    public async Task Scanning_a_card_then_a_book_lends_it_and_scanning_the_book_again_takes_it_back()
    {
        await using var browser = await BrowserSession.OpenAsync(_school);
        var page = browser.Page;
        await browser.SignInAsync("librarian1");
        await Expect(page.Locator("#card-input")).ToBeFocusedAsync();

        await page.Keyboard.TypeAsync(DemoSchool.PupilCard(25).ToString(CultureInfo.InvariantCulture));
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#pupil-name")).Not.ToBeEmptyAsync();
        await Expect(page.Locator("#barcode-input")).ToBeFocusedAsync();
        await page.Keyboard.TypeAsync("LIB-0042");
        await page.Keyboard.PressAsync("Enter");

        await Expect(page.Locator("#desk-message")).ToContainTextAsync("Lent \"Kara Sozder\"");
        await Expect(page.Locator("#loans tr")).ToHaveCountAsync(1);
        await browser.ScreenshotAsync("lent");
        Assert.That(new LibraryDesk(_school.Database).LoansOf(25).Count(l => l.ReturnedAt is null), Is.EqualTo(1));

        await page.FocusAsync("#barcode-input");
        await page.Keyboard.TypeAsync("LIB-0042");
        await page.Keyboard.PressAsync("Enter");

        await Expect(page.Locator("#desk-message")).ToContainTextAsync("Returned");
        await Expect(page.Locator("#loans tr")).ToHaveCountAsync(0);
        Assert.That(new LibraryDesk(_school.Database).LoansOf(25).Count(l => l.ReturnedAt is null), Is.Zero);
    }
}
