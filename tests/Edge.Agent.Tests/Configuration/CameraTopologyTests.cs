using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Devices.Profiles;

namespace Kezekshi.Edge.Agent.Tests.Configuration;

/// <summary>Cameras in the gate configuration (Edge:Gates:N:Cameras): resolved per gate, mistakes named with the fix.</summary>
[Category("Unit")]
public class CameraTopologyTests
{
    private static HardwareProfileCatalog? s_catalog;

    private static HardwareProfileCatalog Catalog()
    {
        if (s_catalog is not null) return s_catalog;
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Kezekshi.sln")))
                return s_catalog = HardwareProfileCatalog.Load(Path.Combine(dir.FullName, "hardware-profiles"));
        }
        throw new InvalidOperationException("Kezekshi.sln not found.");
    }

    private static EdgeOptions WithCameras(params CameraOptions[] cameras) => new()
    {
        SchoolId = "kz-ala-school-042",
        Devices =
        [
            new() { Name = "gate1-in", Profile = "generic-osdp-reader", Port = "/dev/ttyUSB0", Address = 1 },
            new() { Name = "relays", Profile = "modbus-relay-8ch", Port = "/dev/ttyUSB1" },
        ],
        Gates = [new() { Name = "gate1", Turnstile = "tripod-turnstile", RelayBoard = "relays", EntryReader = "gate1-in", Cameras = [.. cameras] }],
    };

    private static List<string> Problems(EdgeOptions options)
    {
        var problems = new List<string>();
        var topology = GateTopology.Build(options, Catalog(), problems);
        Assert.That(topology, Is.Null, "a configuration with problems must not resolve");
        return problems;
    }

    [Test]
    public void Cameras_resolve_with_their_gate_direction_and_capture_settings()
    {
        var problems = new List<string>();
        var topology = GateTopology.Build(WithCameras(
            new CameraOptions { Id = "gate1-in-cam", Direction = "entry", Url = "/dev/video0" },
            new CameraOptions { Id = "gate1-out-cam", Direction = "exit", Url = "rtsp://10.0.0.21:554/stream1", Width = 320, Height = 240, FramesPerSecond = 5 }), Catalog(), problems);

        Assert.That(problems, Is.Empty);
        Assert.That(topology!.Cameras.Select(c => (c.Id, c.Gate, c.Direction, c.Url, c.Width, c.FramesPerSecond)), Is.EqualTo(new[]
        {
            ("gate1-in-cam", "gate1", Direction.Entry, "/dev/video0", 640, 10),
            ("gate1-out-cam", "gate1", Direction.Exit, "rtsp://10.0.0.21:554/stream1", 320, 5),
        }));
    }

    [Test]
    public void A_camera_with_an_unknown_direction_names_the_two_choices()
    {
        var problems = Problems(WithCameras(new CameraOptions { Id = "cam", Direction = "in", Url = "/dev/video0" }));

        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.Contain("Edge:Gates[0] (\"gate1\"): Cameras[0] (\"cam\")").And.Contain("\"entry\" or \"exit\""));
    }

    [TestCase("", "Url is empty")]
    [TestCase("ftp://10.0.0.21/stream", "not a camera protocol")]
    [TestCase("rtsp://", "not a valid URL")]
    [TestCase(" /dev/video0", "spaces")]
    public void A_bad_camera_url_is_refused_with_examples(string url, string expected)
    {
        var problems = Problems(WithCameras(new CameraOptions { Id = "cam", Url = url }));

        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.Contain(expected));
    }

    [Test]
    public void A_file_that_does_not_exist_yet_is_not_a_configuration_error()
    {
        // The camera loop retries it and says what to check: a USB camera plugged in later is fine too.
        Assert.That(GateTopology.CameraUrlProblem("/var/lib/kezekshi/demo/faces.mkv"), Is.Null);
        Assert.That(GateTopology.CameraUrlProblem("/dev/video7"), Is.Null);
    }

    [Test]
    public void Camera_ids_are_unique_and_sizes_and_rates_are_checked()
    {
        var problems = Problems(WithCameras(
            new CameraOptions { Id = "cam", Url = "/dev/video0" },
            new CameraOptions { Id = "cam", Url = "/dev/video1", Width = 641, FramesPerSecond = 0 }));

        Assert.That(problems, Has.Some.Contain("already used by"));
        Assert.That(problems, Has.Some.Contain("641×480"));
        Assert.That(problems, Has.Some.Contain("FramesPerSecond 0"));
    }

    [Test]
    public void Face_timing_out_of_range_is_refused()
    {
        var options = WithCameras();
        options.FaceGate.DeadlineMs = 20;

        Assert.That(Problems(options), Has.Some.Contain("Edge:FaceGate:DeadlineMs = 20"));
    }
}
