using static Microsoft.Playwright.Assertions;

namespace Kezekshi.Edge.Web.Tests.Browser;

/// <summary>The evacuation roll-call on a tablet-sized screen, including ticks made while the network is gone.</summary>
[Category("EndToEnd")]
[NonParallelizable]
public sealed class RollCallBrowserTests
{
    private WebSchool _school = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _school = await WebSchool.StartAsync();
        using var connection = _school.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO presence(holder_kind, holder_id, inside, last_gate, last_at) VALUES ('pupil', 8, 1, 'gate1', $at), ('pupil', 9, 1, 'gate2', $at), ('staff', 2, 1, 'staff-door', $at)";
        command.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        command.ExecuteNonQuery();
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _school.DisposeAsync();

    [Test]
    public async Task Teachers_tick_people_off_on_a_tablet_and_ticks_made_offline_are_sent_when_the_network_returns()
    {
        await using var browser = await BrowserSession.OpenAsync(_school, 768, 1024);
        var page = browser.Page;
        await browser.SignInAsync("office1", next: "/rollcall");
        await page.ClickAsync("#start-button");
        await Expect(page.Locator("[data-person=pupil-8]")).ToBeVisibleAsync();

        await page.ClickAsync("[data-person=pupil-8]");
        await Expect(page.Locator("[data-person=pupil-8]")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("ticked"));
        await Eventually.UntilAsync(() => Accounted() == 1, "the first tick reached the store");

        await page.Context.SetOfflineAsync(true);
        await page.ClickAsync("[data-person=pupil-9]");
        await Expect(page.Locator("#summary")).ToContainTextAsync("waiting for the network");
        await browser.ScreenshotAsync("offline-tick");
        Assert.That(Accounted(), Is.EqualTo(1), "the offline tick is only on the tablet");

        await page.Context.SetOfflineAsync(false);
        await Eventually.UntilAsync(() => Accounted() == 2, "the queued tick was sent once the network came back");
        await Expect(page.Locator("#summary")).Not.ToContainTextAsync("waiting for the network");
        await browser.ScreenshotAsync("synced");
    }

    private long Accounted()
    {
        using var connection = _school.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM rollcall_people WHERE accounted_at IS NOT NULL";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
