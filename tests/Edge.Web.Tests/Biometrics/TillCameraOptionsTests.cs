using Kezekshi.Edge.Agent.Web;
using Kezekshi.Edge.Agent.Web.Biometrics;

namespace Kezekshi.Edge.Web.Tests.Biometrics;

/// <summary>Which camera a till uses, and what the till says about a camera.</summary>
[Category("Unit")]
public sealed class TillCameraOptionsTests
{
    [Test]
    public void A_till_with_its_own_camera_uses_it_and_the_others_use_the_shared_one()
    {
        var till = new TillCameraOptions { Camera = new CameraOptions { Url = "/dev/video0" } };
        till.Cameras["Aigerim.K"] = new CameraOptions { Url = "rtsp://till2/stream" };

        using (Assert.EnterMultipleScope())
        {
            Assert.That(till.For("aigerim.k")!.Url, Is.EqualTo("rtsp://till2/stream"), "account names are case-insensitive");
            Assert.That(till.For("cashier1")!.Url, Is.EqualTo("/dev/video0"));
        }
    }

    [Test]
    public void Without_any_camera_configured_a_till_has_none()
    {
        var till = new TillCameraOptions();
        till.Cameras["cashier1"] = new CameraOptions { Url = " " };

        Assert.That(till.For("cashier1"), Is.Null);
    }

    [Test]
    public void A_camera_password_in_an_RTSP_URL_is_never_shown_on_the_till()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(CameraCapture.Describe("rtsp://admin:secret@10.0.0.5:554/stream"), Is.EqualTo("rtsp://10.0.0.5").And.Not.Contain("secret"));
            Assert.That(CameraCapture.Describe("/dev/video0"), Is.EqualTo("/dev/video0"));
        }
    }

    [Test]
    public void A_missing_camera_file_is_an_error_that_names_the_camera()
    {
        var camera = new CameraOptions { Url = Path.Combine(Path.GetTempPath(), $"kezekshi-no-camera-{Guid.NewGuid():N}.mkv"), TimeoutMilliseconds = 20_000 };

        var e = Assert.ThrowsAsync<Kezekshi.Edge.Biometrics.Imaging.ImageDecodeException>(() => CameraCapture.TakeFrameAsync(camera, CancellationToken.None));

        Assert.That(e!.Message, Does.Contain(camera.Url));
    }
}
