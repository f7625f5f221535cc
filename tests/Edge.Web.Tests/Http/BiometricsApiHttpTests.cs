using System.Net;
using System.Net.Http.Json;
using Kezekshi.Edge.Agent.Web;
using Kezekshi.Edge.Web.Tests.Biometrics;

namespace Kezekshi.Edge.Web.Tests.Http;

/// <summary>
/// The enrolment and consent API as a script would call it: bad input gets a clear answer, the role and the CSRF token
/// are checked before anything runs, and a round trip consent → enrol → count → delete leaves a receipt.
/// </summary>
[Category("Integration")]
[NonParallelizable]
public sealed class BiometricsApiHttpTests
{
    private WebSchool _school = null!;
    private SignedInClient _it = null!;
    private SignedInClient _cashier = null!;
    private string _blockedCamera = null!;
    private string _enrolmentCamera = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var directory = new TempDirectory();
        _blockedCamera = directory.File("camera.fifo");
        var options = new WebOptions { Urls = "http://127.0.0.1:0" };
        // cashier1's till camera is a FIFO nobody writes to: a camera that never answers.
        options.Till.Cameras["cashier1"] = new CameraOptions { Url = _blockedCamera, TimeoutMilliseconds = 1500 };
        // The IT desk's enrolment camera is a still photo the test writes (a demo set-up).
        _enrolmentCamera = directory.File("enrolment-camera.png");
        options.EnrolmentCamera = new CameraOptions { Url = _enrolmentCamera, TimeoutMilliseconds = 20_000 };
        _school = await WebSchool.StartAsync(options: options, directory: directory, face: FaceSchool.Open);
        _it = await SignedInClient.SignInAsync(_school, "itadmin1");
        _cashier = await SignedInClient.SignInAsync(_school, "cashier1");
        using var mkfifo = System.Diagnostics.Process.Start("mkfifo", [_blockedCamera])!;
        await mkfifo.WaitForExitAsync();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _it.Dispose();
        _cashier.Dispose();
        await _school.DisposeAsync();
    }

    private static object Images(params (string Name, byte[] Bytes)[] images) =>
        new { images = images.Select(i => new { name = i.Name, data = Convert.ToBase64String(i.Bytes) }).ToArray() };

    private static object Consent(string form, params string[] purposes) => new
    {
        guardianId = "G-" + form,
        guardianName = "Guardian " + form,
        givenOn = DateOnly.FromDateTime(DateTime.UtcNow.AddDays(-1)).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        expiresOn = DateOnly.FromDateTime(DateTime.UtcNow.AddDays(300)).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        documentSha256 = FaceSchool.FormHash(form),
        purposes,
        noCrossBorder = true,
    };

    private Task<HttpResponseMessage> DeleteAsync(SignedInClient client, string path, bool withCsrf = true)
    {
        var request = new HttpRequestMessage(HttpMethod.Delete, path);
        if (withCsrf) request.Headers.Add("X-CSRF-Token", client.Csrf);
        return client.Http.SendAsync(request);
    }

    [Test]
    public async Task A_corrupt_image_gets_a_message_that_says_it_could_not_be_decoded()
    {
        using var response = await _it.PostAsync("/api/bio/enrolment/check", Images(("broken.jpg", [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6, 7, 8])));

        var body = await SignedInClient.JsonAsync(response);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(body.GetProperty("code").GetString(), Is.EqualTo("bad-image"));
            Assert.That(body.GetProperty("error").GetString(), Does.Contain("broken.jpg").And.Contain("could not be decoded"));
        }
    }

    [Test]
    public async Task A_phone_sized_photo_gets_past_the_UIs_1_MB_body_limit_on_the_photo_calls()
    {
        // 3 MB of bytes that are not an image: the answer must be ffmpeg's verdict, not Kestrel's 413.
        var big = new byte[3 * 1024 * 1024];
        new Random(5).NextBytes(big);

        using var response = await _it.PostAsync("/api/bio/enrolment/check", Images(("phone.jpg", big)));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await SignedInClient.JsonAsync(response)).GetProperty("code").GetString(), Is.EqualTo("bad-image"));
    }

    [Test]
    public async Task Data_that_is_not_base64_and_an_empty_request_are_refused_with_a_reason()
    {
        using var notBase64 = await _it.PostAsync("/api/bio/enrolment/check", new { images = new[] { new { name = "x.png", data = "%%%" } } });
        using var empty = await _it.PostAsync("/api/bio/enrolment/check", new { images = Array.Empty<object>() });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(notBase64.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((await SignedInClient.JsonAsync(notBase64)).GetProperty("error").GetString(), Does.Contain("base64"));
            Assert.That(empty.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((await SignedInClient.JsonAsync(empty)).GetProperty("code").GetString(), Is.EqualTo("no-image"));
        }
    }

    [Test]
    public async Task Enrolment_without_a_consent_covering_access_is_refused_and_nothing_is_stored()
    {
        // Pupil 30 has a library consent only: not enough to be enrolled.
        using (var library = await _it.PostAsync("/api/bio/pupils/30/consents", Consent("30-library", "library")))
            Assert.That(library.StatusCode, Is.EqualTo(HttpStatusCode.OK), await library.Content.ReadAsStringAsync());

        using var response = await _it.PostAsync("/api/bio/pupils/30/templates", Images(("s20-1.png", FaceSchool.OrlPng(20, 1))));

        var body = await SignedInClient.JsonAsync(response);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
            Assert.That(body.GetProperty("code").GetString(), Is.EqualTo("no-consent"));
            Assert.That(body.GetProperty("error").GetString(), Does.Contain("no valid guardian consent covers 'access'"));
            Assert.That(_school.Context.Face!.Module.Store.Count(30), Is.Zero);
        }
    }

    [Test]
    public async Task Canteen_payment_ticked_on_the_access_form_is_refused_with_the_policys_message()
    {
        using var response = await _it.PostAsync("/api/bio/pupils/31/consents", Consent("31-combined", "access", "canteen-payment"));

        var body = await SignedInClient.JsonAsync(response);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
            Assert.That(body.GetProperty("error").GetString(), Does.Contain("needs its own consent form"));
            Assert.That(_school.Context.Face!.Module.Consents.EffectiveMask(31), Is.EqualTo(Kezekshi.Edge.Biometrics.BiometricPurpose.None));
        }
    }

    [Test]
    public async Task A_purpose_that_does_not_exist_is_refused()
    {
        using var response = await _it.PostAsync("/api/bio/pupils/32/consents", Consent("32-marketing", "marketing"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await SignedInClient.JsonAsync(response)).GetProperty("error").GetString(), Does.Contain("'marketing' is not a purpose"));
    }

    [Test]
    public async Task A_cashier_gets_403_from_every_consent_and_enrolment_call()
    {
        var calls = new List<(string Call, HttpResponseMessage Response)>
        {
            ("GET status", await _cashier.GetAsync("/api/bio/status")),
            ("GET pupil", await _cashier.GetAsync("/api/bio/pupils/7")),
            ("GET templates", await _cashier.GetAsync("/api/bio/pupils/7/templates")),
            ("POST check", await _cashier.PostAsync("/api/bio/enrolment/check", Images(("s5-1.png", FaceSchool.OrlPng(5, 1))))),
            ("POST enrol", await _cashier.PostAsync("/api/bio/pupils/7/templates", Images(("s5-1.png", FaceSchool.OrlPng(5, 1))))),
            ("POST consent", await _cashier.PostAsync("/api/bio/pupils/7/consents", Consent("7-by-cashier", "canteen-payment"))),
            ("DELETE templates", await DeleteAsync(_cashier, "/api/bio/pupils/7/templates")),
        };
        try
        {
            using (Assert.EnterMultipleScope())
            {
                foreach (var (call, response) in calls)
                {
                    Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), call);
                    Assert.That((await SignedInClient.JsonAsync(response)).GetProperty("code").GetString(), Is.EqualTo("forbidden"), call);
                }
                Assert.That(_school.Context.Face!.Module.Consents.EffectiveMask(7), Is.EqualTo(Kezekshi.Edge.Biometrics.BiometricPurpose.None), "the cashier's consent was not recorded");
            }
        }
        finally
        {
            foreach (var (_, response) in calls) response.Dispose();
        }
    }

    [Test]
    public async Task Calls_without_the_CSRF_token_are_refused_before_anything_runs()
    {
        using var consent = await _it.PostAsync("/api/bio/pupils/33/consents", Consent("33-access", "access"), withCsrf: false);
        using var enrol = await _it.PostAsync("/api/bio/pupils/33/templates", Images(("s20-1.png", FaceSchool.OrlPng(20, 1))), withCsrf: false);
        using var delete = await DeleteAsync(_it, "/api/bio/pupils/33/templates", withCsrf: false);

        using (Assert.EnterMultipleScope())
        {
            foreach (var response in new[] { consent, enrol, delete })
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
                Assert.That((await SignedInClient.JsonAsync(response)).GetProperty("code").GetString(), Is.EqualTo("csrf"));
            }
            Assert.That(_school.Context.Face!.Module.Consents.EffectiveMask(33), Is.EqualTo(Kezekshi.Edge.Biometrics.BiometricPurpose.None));
        }
    }

    [Test]
    public async Task Consent_then_enrol_then_count_then_delete_leaves_a_deletion_receipt()
    {
        using (var consent = await _it.PostAsync("/api/bio/pupils/34/consents", Consent("34-access", "access", "attendance")))
            Assert.That(consent.StatusCode, Is.EqualTo(HttpStatusCode.OK), await consent.Content.ReadAsStringAsync());
        using (var enrol = await _it.PostAsync("/api/bio/pupils/34/templates", Images(("s20-1.png", FaceSchool.OrlPng(20, 1)), ("s20-3.png", FaceSchool.OrlPng(20, 3)))))
        {
            var body = await SignedInClient.JsonAsync(enrol);
            Assert.That(enrol.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
            Assert.That(body.GetProperty("stored").GetInt32(), Is.EqualTo(2), body.ToString());
        }
        using (var count = await _it.GetAsync("/api/bio/pupils/34/templates"))
            Assert.That((await SignedInClient.JsonAsync(count)).GetProperty("templates").GetInt32(), Is.EqualTo(2));

        using var delete = await DeleteAsync(_it, "/api/bio/pupils/34/templates?reason=bad%20photos");
        var receipt = await SignedInClient.JsonAsync(delete);
        using var after = await _it.GetAsync("/api/bio/pupils/34");
        var pupil = await SignedInClient.JsonAsync(after);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(delete.StatusCode, Is.EqualTo(HttpStatusCode.OK), receipt.ToString());
            Assert.That(receipt.GetProperty("sha256").GetString(), Has.Length.EqualTo(64));
            Assert.That(pupil.GetProperty("templates").GetInt32(), Is.Zero);
            Assert.That(pupil.GetProperty("receipts")[0].GetProperty("reason").GetString(), Is.EqualTo("bad photos"));
            Assert.That(pupil.GetProperty("receipts")[0].GetProperty("deletedBy").GetString(), Is.EqualTo("itadmin1"));
            Assert.That(pupil.GetProperty("effectivePurposes").EnumerateArray().Select(p => p.GetString()), Is.EquivalentTo(new[] { "access", "attendance" }),
                "deleting templates does not withdraw the consent");
            _school.Context.Face!.TryGetIdentifier(out var identifier, out _);
            Assert.That(identifier.Identify(FaceSchool.Orl(20, 1), Kezekshi.Edge.Biometrics.BiometricPurpose.Access).Decision?.PupilId, Is.Not.EqualTo(34L),
                "the deleted templates are gone from memory too");
        }
    }

    [Test]
    public async Task A_frame_captured_from_the_enrolment_camera_is_checked_and_then_enrolled()
    {
        await File.WriteAllBytesAsync(_enrolmentCamera, FaceSchool.OrlPng(33, 1));
        using (var consent = await _it.PostAsync("/api/bio/pupils/35/consents", Consent("35-access", "access")))
            Assert.That(consent.StatusCode, Is.EqualTo(HttpStatusCode.OK), await consent.Content.ReadAsStringAsync());

        using var capture = await _it.PostAsync("/api/bio/enrolment/capture", new { });
        var captured = await SignedInClient.JsonAsync(capture);
        Assert.That(capture.StatusCode, Is.EqualTo(HttpStatusCode.OK), captured.ToString());
        Assert.That(captured.GetProperty("feedback").GetProperty("accepted").GetBoolean(), captured.ToString());
        using var enrol = await _it.PostAsync("/api/bio/pupils/35/templates", new { captures = new[] { captured.GetProperty("capture").GetString() } });
        var enrolled = await SignedInClient.JsonAsync(enrol);
        using var again = await _it.PostAsync("/api/bio/pupils/35/templates", new { captures = new[] { captured.GetProperty("capture").GetString() } });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(enrol.StatusCode, Is.EqualTo(HttpStatusCode.OK), enrolled.ToString());
            Assert.That(enrolled.GetProperty("stored").GetInt32(), Is.EqualTo(1));
            Assert.That(_school.Context.Face!.Module.Store.Count(35), Is.EqualTo(1));
            Assert.That((await SignedInClient.JsonAsync(again)).GetProperty("code").GetString(), Is.EqualTo("capture-expired"), "a capture is used once, then forgotten");
        }
    }

    [Test]
    public async Task A_till_camera_that_does_not_answer_says_so_and_sends_the_cashier_to_the_card()
    {
        using var response = await _cashier.PostAsync("/api/till/face", new { });

        var body = await SignedInClient.JsonAsync(response);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
            Assert.That(body.GetProperty("status").GetString(), Is.EqualTo("camera-timeout"));
            Assert.That(body.GetProperty("recognised").GetBoolean(), Is.False);
            Assert.That(body.GetProperty("message").GetString(), Does.Contain("did not send a picture").And.Contain("Use the card"));
        }
    }

    [Test]
    public async Task A_till_without_a_camera_shows_the_face_button_disabled_with_the_reason()
    {
        // librarian1 has no till; sign in a second cashier whose till has no camera configured.
        _school.Accounts.Add("cashier-nocam", Kezekshi.Edge.Agent.Web.Security.WebRole.Cashier, WebSchool.Password, mustChangePassword: false, staffId: WebSchool.CashierStaffId);
        using var cashier = await SignedInClient.SignInAsync(_school, "cashier-nocam");

        using var state = await cashier.GetAsync("/api/till/state");
        var face = (await SignedInClient.JsonAsync(state)).GetProperty("face");
        using var press = await cashier.PostAsync("/api/till/face", new { });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(face.GetProperty("shown").GetBoolean(), Is.True);
            Assert.That(face.GetProperty("available").GetBoolean(), Is.False);
            Assert.That(face.GetProperty("problem").GetString(), Does.Contain("no camera").And.Contain("Web:Till:Camera:Url"));
            Assert.That(press.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        }
    }
}

/// <summary>A school that did not turn biometrics on: the till has no Face button and the API says biometrics are off.</summary>
[Category("Integration")]
[NonParallelizable]
public sealed class BiometricsOffHttpTests
{
    [Test]
    public async Task Without_biometrics_the_till_hides_face_and_the_API_says_they_are_off()
    {
        await using var school = await WebSchool.StartAsync();
        using var cashier = await SignedInClient.SignInAsync(school, "cashier1");
        using var it = await SignedInClient.SignInAsync(school, "itadmin1");

        using var state = await cashier.GetAsync("/api/till/state");
        var face = (await SignedInClient.JsonAsync(state)).GetProperty("face");
        using var press = await cashier.PostAsync("/api/till/face", new { });
        using var status = await it.GetAsync("/api/bio/status");
        using var consent = await it.PostAsync("/api/bio/pupils/7/consents", new { purposes = new[] { "access" } });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(face.GetProperty("shown").GetBoolean(), Is.False);
            Assert.That(press.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
            Assert.That((await SignedInClient.JsonAsync(press)).GetProperty("code").GetString(), Is.EqualTo("face-off"));
            Assert.That((await SignedInClient.JsonAsync(status)).GetProperty("enabled").GetBoolean(), Is.False);
            Assert.That(consent.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
            Assert.That((await SignedInClient.JsonAsync(consent)).GetProperty("error").GetString(), Does.Contain("Biometrics are off"));
        }
    }
}
