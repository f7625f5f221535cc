using System.Text.RegularExpressions;
using Kezekshi.Edge.Agent.Web;
using Kezekshi.Edge.Agent.Web.Pupils;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Web.Tests.Biometrics;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Kezekshi.Edge.Web.Tests.Browser;

/// <summary>
/// Consents, enrolment and face payment in a real browser, with the real face models and ORL faces (Olivetti
/// Research Laboratory). The till camera is a video file the test writes: the face of the child at the till.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable]
public sealed class BiometricsBrowserTests
{
    private const long FacePayer = 7;      // Timur Abenov: ORL person 5
    private const long AccessOnly = 8;     // ORL person 10, consent for the turnstile only
    private WebSchool _school = null!;
    private string _camera = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var directory = new TempDirectory();
        _camera = directory.File("till-camera.mkv");
        var options = new WebOptions { Urls = "http://127.0.0.1:0" };
        // Generous time box: a loaded 2-core CI box starting ffmpeg is not a slow camera.
        options.Till.Camera = new CameraOptions { Url = _camera, Width = 184, Height = 224, TimeoutMilliseconds = 20_000 };
        _school = await WebSchool.StartAsync(options: options, directory: directory, face: FaceSchool.Open);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _school.DisposeAsync();

    private BiometricsModule Module => _school.Context.Face!.Module;

    private async Task<BrowserSession> OpenTillAsync()
    {
        var browser = await BrowserSession.OpenAsync(_school);
        await browser.SignInAsync("cashier1");
        await Expect(browser.Page).ToHaveURLAsync(new Regex("/till$"));
        if (await browser.Page.IsVisibleAsync("#open-shift-button"))
        {
            await browser.Page.FillAsync("#opening-float", "5000");
            await browser.Page.ClickAsync("#open-shift-button");
        }
        await Expect(browser.Page.Locator("#card-input")).ToBeVisibleAsync();
        return browser;
    }

    [Test]
    public async Task IT_records_a_canteen_payment_consent_and_enrols_then_the_cashier_confirms_the_face_and_charges()
    {
        await using (var it = await BrowserSession.OpenAsync(_school))
        {
            var page = it.Page;
            await it.SignInAsync("itadmin1", next: "/it/biometrics");
            await Expect(page.Locator("#bio-state")).ToContainTextAsync("Face recognition ready");
            await page.FillAsync("#pupil-search", FacePayer.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await Expect(page.Locator("#pupil-select option[value='7']")).ToHaveCountAsync(1);
            await page.SelectOptionAsync("#pupil-select", "7");
            await Expect(page.Locator("#bio-pupil")).ToContainTextAsync("Timur Abenov");

            // One form ticking the gate and canteen payment together: ConsentPolicy refuses, the page shows why.
            await page.FillAsync("#guardian-id", "G-7-mother");
            await page.FillAsync("#guardian-name", "Aigul Abenova");
            await page.FillAsync("#document-sha", FaceSchool.FormHash("form 7 combined"));
            await page.CheckAsync("#purpose-access");
            await page.CheckAsync("#purpose-canteen-payment");
            await page.ClickAsync("#record-consent");
            await Expect(page.Locator("#bio-message")).ToContainTextAsync("needs its own consent form");
            await it.ScreenshotAsync("combined-form-refused");

            // The access form, then the canteen-payment form on its own.
            await page.UncheckAsync("#purpose-canteen-payment");
            await page.FillAsync("#document-sha", FaceSchool.FormHash("form 7 access"));
            await page.ClickAsync("#record-consent");
            await Expect(page.Locator("#effective")).ToHaveTextAsync("access");
            await page.UncheckAsync("#purpose-access");
            await page.CheckAsync("#purpose-canteen-payment");
            await page.FillAsync("#document-sha", FaceSchool.FormHash("form 7 canteen"));
            await page.ClickAsync("#record-consent");
            await Expect(page.Locator("#effective")).ToHaveTextAsync("access, canteen-payment");
            await Expect(page.Locator("#consents tr")).ToHaveCountAsync(2);

            // Two good photos and one without a face: live feedback per photo, then only the good ones are enrolled.
            await page.SetInputFilesAsync("#photos", new[]
            {
                new FilePayload { Name = "timur-1.png", MimeType = "image/png", Buffer = FaceSchool.OrlPng(5, 1) },
                new FilePayload { Name = "timur-3.png", MimeType = "image/png", Buffer = FaceSchool.OrlPng(5, 3) },
                new FilePayload { Name = "wall.png", MimeType = "image/png", Buffer = FaceSchool.Png(new RawImage(184, 224, 1, Enumerable.Repeat((byte)128, 184 * 224).ToArray())) },
            });
            await Expect(page.Locator("#feedback li")).ToHaveCountAsync(3);
            await Expect(page.Locator("#feedback li[data-source='wall.png']")).ToContainTextAsync("no face found");
            await Expect(page.Locator("#feedback li.accepted")).ToHaveCountAsync(2);
            await it.ScreenshotAsync("quality-feedback");
            await page.ClickAsync("#enrol");
            await Expect(page.Locator("#template-count")).ToHaveTextAsync("2");
            await Expect(page.Locator("#bio-message")).ToContainTextAsync("2 template(s) stored");
            await it.ScreenshotAsync("enrolled");
            // The browser logs the refused combined form's 409; nothing else may go wrong on the page.
            Assert.That(it.ConsoleErrors.Where(e => !e.Contains("409", StringComparison.Ordinal)), Is.Empty);
        }
        Assert.That(Module.Store.Count(FacePayer), Is.EqualTo(2), "two templates stored, the photo without a face was not");

        // At the till: the camera sees ORL person 5 in a photo that was not enrolled.
        FaceSchool.WriteVideo(_camera, 5, 2);
        long before = _school.Canteen.GetBalance(FacePayer);
        await using var till = await OpenTillAsync();
        var tillPage = till.Page;
        await Expect(tillPage.Locator("#face-button")).ToBeEnabledAsync();
        await tillPage.ClickAsync("#face-button");

        await Expect(tillPage.Locator("#face-confirm")).ToBeVisibleAsync();
        await Expect(tillPage.Locator("#pupil-name")).ToHaveTextAsync("Timur Abenov");
        await Expect(tillPage.Locator("#pupil-photo")).ToHaveAttributeAsync("src", "/api/pupils/7/photo");
        await tillPage.ClickAsync("[data-item-code=plov]");
        await Expect(tillPage.Locator("#charge-button")).ToBeDisabledAsync();   // never charged on the face alone
        await till.ScreenshotAsync("face-to-confirm");
        await tillPage.ClickAsync("#face-yes");
        await Expect(tillPage.Locator("#till-message")).ToContainTextAsync("Confirmed by the cashier");
        await Expect(tillPage.Locator("#charge-button")).ToBeEnabledAsync();
        await tillPage.Keyboard.PressAsync("F12");

        await Expect(tillPage.Locator("#receipt")).ToContainTextAsync("Plov");
        await Expect(tillPage.Locator("#pupil-balance")).ToHaveTextAsync(new Regex("1.?550"));
        await till.ScreenshotAsync("charged-by-face");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_school.Canteen.GetBalance(FacePayer), Is.EqualTo(before - 45_000), "450 ₸ plov left the account");
            Assert.That(Module.Audit.Read().Select(r => r.Entry).Where(e => e.Actor == "till:cashier1" && e.Subject == "pupil:7"), Is.Not.Empty,
                "the confirmed match is in the audit log with the till as actor");
            Assert.That(till.ConsoleErrors, Is.Empty);
        }
    }

    [Test]
    public async Task A_pupil_with_only_an_access_consent_is_not_recognised_at_the_till()
    {
        Module.Consents.RecordGrant(new ConsentGrant(AccessOnly, "G-8-father", "Berik Seitkali", DateTimeOffset.UtcNow.AddDays(-1), FaceSchool.FormHash("form 8 access"),
            BiometricPurpose.Access, DateTimeOffset.UtcNow.AddDays(200), "test", NoCrossBorder: true));
        var enrolled = _school.Context.Face!.Enrolment().Enrol(AccessOnly, [FaceSchool.Orl(10, 1), FaceSchool.Orl(10, 3)], "test");
        Assert.That(enrolled.Enrolled, string.Join("; ", enrolled.Images.Select(i => i.RejectedBecause)));
        _school.Context.Face.TryGetIdentifier(out var identifier, out _);
        Assert.That(identifier.Identify(FaceSchool.Orl(10, 2), BiometricPurpose.Access).Decision?.PupilId, Is.EqualTo(AccessOnly),
            "the turnstile knows this face: only the purpose keeps it from the till");

        FaceSchool.WriteVideo(_camera, 10, 2);
        await using var till = await OpenTillAsync();
        var page = till.Page;
        await Expect(page.Locator("#face-button")).ToBeEnabledAsync();
        await page.Keyboard.PressAsync("F1");

        await Expect(page.Locator("#till-message")).ToHaveTextAsync("Not recognised — use the card.");
        await till.ScreenshotAsync("not-recognised");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await page.IsVisibleAsync("#face-confirm"), Is.False);
            Assert.That(await page.IsVisibleAsync("#pupil"), Is.False, "no pupil shown");
            Assert.That(await page.IsDisabledAsync("#charge-button"), Is.True);
        }
        var name = new PupilDirectory(_school.Database).Find(AccessOnly)!.FullName;
        Assert.That(await page.ContentAsync(), Does.Not.Contain(name), "the cashier is not told whom the face resembles");
    }

    [Test]
    public async Task A_cashier_cannot_open_consents_and_enrolment()
    {
        await using var browser = await BrowserSession.OpenAsync(_school);
        await browser.SignInAsync("cashier1");

        var response = await browser.Page.GotoAsync("/it/biometrics");

        await Expect(browser.Page.Locator("#forbidden-message")).ToContainTextAsync("may not open consents and enrolment");
        await browser.ScreenshotAsync("biometrics-refused");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response!.Status, Is.EqualTo(403));
            Assert.That(await browser.Page.Locator("#record-consent").CountAsync(), Is.Zero, "none of the page was sent");
        }
    }
}
