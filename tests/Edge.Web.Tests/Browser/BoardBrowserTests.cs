using System.Runtime.Versioning;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Kezekshi.Edge.Web.Tests.Browser;

/// <summary>
/// The hall board and the IT console in a real browser while the real gate pipeline runs: simulated OSDP readers,
/// relay board and pass sensors on pseudo-terminals (<see cref="DemoRig"/>), the agent's runtime built as <c>run</c>
/// builds it, and a pupil's card tapped on gate1's entry reader.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable]
[SupportedOSPlatform("linux")]
public sealed class BoardBrowserTests
{
    private DemoRig? _hardware;
    private AgentRuntime? _runtime;
    private WebSchool _school = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _school = await WebSchool.StartAsync(async (directory, database) =>
        {
            var start = ShiftedTimeProvider.NextSchoolMorning(DateTimeOffset.UtcNow, new TimeOnly(7, 40));
            _hardware = DemoRig.Start(115200);
            var options = _hardware.CreateOptions(directory.Path);
            _runtime = AgentRuntime.Create(options, GateTopology.Load(options), database, NullLoggerFactory.Instance, new ShiftedTimeProvider(start),
                new RuntimeTuning { OsdpPollInterval = TimeSpan.FromMilliseconds(5) });
            await _runtime.StartAsync();
            await Eventually.UntilAsync(() => _runtime.Devices.All(d => d.IsUp), "every serial port of the simulated gates is open");
            await Eventually.UntilAsync(() => DemoRig.OsdpReaders.All(r => _hardware.Readers.Device(r.Address).PollCount > 0), "every OSDP reader is polled");
            return _runtime;
        });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _school.DisposeAsync();
        if (_runtime is not null) await _runtime.DisposeAsync();
        if (_hardware is not null) await _hardware.DisposeAsync();
    }

    [Test]
    public async Task The_board_updates_live_when_a_card_tap_passes_a_gate()
    {
        await using var browser = await BrowserSession.OpenAsync(_school, 1600, 900);
        await browser.SignInAsync("office1", next: "/board");
        await Expect(browser.Page.Locator("#live")).ToHaveTextAsync("live");
        await Expect(browser.Page.Locator("#school")).ToHaveTextAsync("Demo School No. 1");
        int presentBefore = int.Parse(await browser.Page.TextContentAsync("#present-pupils") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        await browser.ScreenshotAsync("before");

        // Pupil 33 taps on gate1's entry reader; the simulated turnstile reports the pass.
        _hardware!.Tap(1, DemoSchool.PupilCard(33));

        // No reload: the page only listens to its Server-Sent Events stream.
        await Expect(browser.Page.Locator("#arrivals li").First).ToContainTextAsync(NameOf(33));
        await Expect(browser.Page.Locator("#present-pupils")).ToHaveTextAsync((presentBefore + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        await browser.ScreenshotAsync("after-tap");
        Assert.That(browser.ConsoleErrors, Is.Empty);
    }

    [Test]
    public async Task The_IT_console_shows_the_devices_the_live_gate_log_and_the_latency_histogram()
    {
        await using var browser = await BrowserSession.OpenAsync(_school);
        await browser.SignInAsync("itadmin1", next: "/it");
        await Expect(browser.Page.Locator("#log-state")).ToHaveTextAsync("live");
        await Expect(browser.Page.Locator("#devices tr")).ToHaveCountAsync(_runtime!.Devices.Count);

        _hardware!.Tap(3, DemoSchool.PupilCard(44));

        await Expect(browser.Page.Locator("#log tr").First).ToContainTextAsync(NameOf(44));
        await Expect(browser.Page.Locator(".histogram[data-gate=gate2] div").First).ToBeVisibleAsync();
        await browser.ScreenshotAsync("console");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await browser.Page.TextContentAsync("#devices"), Does.Contain("up"));
            Assert.That(await browser.Page.TextContentAsync("#devices"), Does.Contain("inputs: polled every 20 ms, longest gap").And.Contain("pass sensors on counters"),
                "the poll gaps of the input module, and that its pass sensors cannot be missed");
            Assert.That(await browser.Page.TextContentAsync("#outbox"), Does.Contain("event(s) waiting"), "the passages wait in the outbox (no centre in this test)");
        }
    }

    private string NameOf(int pupil)
    {
        using var connection = _school.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT full_name FROM pupils WHERE id = $id";
        command.Parameters.AddWithValue("$id", pupil);
        return (string)command.ExecuteScalar()!;
    }
}
