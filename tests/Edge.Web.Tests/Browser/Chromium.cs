using Microsoft.Playwright;

namespace Kezekshi.Edge.Web.Tests.Browser;

/// <summary>
/// One headless Chromium for all browser tests: Debian's <c>chromium</c> package driven by Playwright's bundled
/// driver (node ships inside the Microsoft.Playwright package, copied to the test output under .playwright).
/// Playwright never downloads a browser here: <see cref="BrowserTypeLaunchOptions.ExecutablePath"/> names the system one.
/// </summary>
[SetUpFixture]
public sealed class Chromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private static IPlaywright? s_playwright;
    private static IBrowser? s_browser;

    public static IBrowser Browser => s_browser ?? throw new InvalidOperationException("Chromium was not started.");

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        if (!File.Exists(ExecutablePath))
            Assert.Fail($"{ExecutablePath} is missing: install Debian's chromium package (tools/setup.sh does: apt-get install chromium). Playwright is not allowed to download a browser.");
        // Expect(...) waits 5 s by default; a 2-core box at load 40 needs longer. A hang guard, not a speed requirement.
        Assertions.SetDefaultExpectTimeout(20_000);
        s_playwright = await Playwright.CreateAsync();
        s_browser = await s_playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                // The till beeps through Web Audio; a headless box has no sound card, and autoplay must not wait for a gesture.
                "--autoplay-policy=no-user-gesture-required", "--mute-audio"],
        });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (s_browser is not null) await s_browser.CloseAsync();
        s_playwright?.Dispose();
    }
}

/// <summary>A page in a fresh browser context (own cookies), with screenshots kept as test attachments.</summary>
public sealed class BrowserSession : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private int _shots;

    private BrowserSession(IBrowserContext context, IPage page, Uri baseAddress)
    {
        _context = context;
        Page = page;
        BaseAddress = baseAddress;
    }

    public IPage Page { get; }
    public Uri BaseAddress { get; }
    public List<string> ConsoleErrors { get; } = [];

    public static async Task<BrowserSession> OpenAsync(WebSchool school, int width = 1400, int height = 900)
    {
        var context = await Chromium.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = school.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });
        // Generous for a loaded 2-core box: these are hang guards, not speed requirements.
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        var session = new BrowserSession(context, page, school.BaseAddress);
        page.Console += (_, message) => { if (message.Type == "error") session.ConsoleErrors.Add(message.Text); };
        return session;
    }

    /// <summary>Signs in through the form, as a person would.</summary>
    public async Task SignInAsync(string name, string password = WebSchool.Password, string? next = null)
    {
        await Page.GotoAsync(next is null ? "/login" : "/login?next=" + Uri.EscapeDataString(next));
        await Page.FillAsync("#name", name);
        await Page.FillAsync("#password", password);
        await Page.ClickAsync("#login-button");
        await Page.WaitForURLAsync(url => !url.Contains("/login", StringComparison.Ordinal));
    }

    /// <summary>Saves a screenshot into the test's output folder and attaches it to the result.</summary>
    public async Task ScreenshotAsync(string name)
    {
        string directory = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots");
        Directory.CreateDirectory(directory);
        string file = Path.Combine(directory, $"{TestContext.CurrentContext.Test.MethodName}-{++_shots:00}-{name}.png");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        TestContext.AddTestAttachment(file, name);
    }

    public async ValueTask DisposeAsync() => await _context.CloseAsync();
}
