using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Runtime;
using Kezekshi.Edge.Agent.Tests.EndToEnd;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Gate;
using Kezekshi.Edge.Biometrics.Identification;
using Kezekshi.Edge.Biometrics.Index;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Tests.FaceGate;

/// <summary>
/// The camera loop on real ffmpeg reading a video of ORL faces, with the identifier replaced by a function
/// (a slow one, or one that always recognises the same pupil) so the loop's own rules are what is tested.
/// </summary>
[Category("Integration")]
public sealed class CameraCredentialSourceTests
{
    private static readonly IdentifyDecision s_pupil5 = new(IdentifyOutcome.Accepted, 5, 0.95f, 0.4f, [new Candidate(5, 1, 0.95f)], "test: pupil 5");

    private RecordingLoggerProvider _logs = null!;
    private ILoggerFactory _loggers = null!;

    [SetUp]
    public void CreateLoggers()
    {
        _logs = new RecordingLoggerProvider();
        _loggers = LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Information));
    }

    [TearDown]
    public void DisposeLoggers() => _loggers.Dispose();

    private static CameraPlan Plan(string id, string url, int fps) => new(id, "gate1", Direction.Entry, url, FaceVideo.Width, FaceVideo.Height, fps, Loop: true);

    [Test]
    public async Task A_slow_identifier_drops_frames_and_always_takes_the_newest_one()
    {
        string video = await FaceAssets.VideoOfAsync(5, 25, 2, 3);
        using var release = new SemaphoreSlim(0);
        int calls = 0;
        Identification SlowIdentify(RawImage image)
        {
            // Slower than the camera: held until the test lets it go, so frames pile up meanwhile.
            Interlocked.Increment(ref calls);
            release.Wait(TimeSpan.FromSeconds(10));
            return new Identification(TemplateExtraction.Rejected("test: no face"), null);
        }
        var camera = new CameraCredentialSource(Plan("cam-slow", video, 25), SlowIdentify, null, new FaceDecisionWindow(),
            _ => ValueTask.CompletedTask, _loggers.CreateLogger("test"), TimeProvider.System);
        using var stop = new CancellationTokenSource();
        var running = camera.RunAsync(stop.Token);
        try
        {
            for (int round = 0; round < 4; round++)
            {
                long before = camera.FramesDelivered;
                await Eventually.UntilAsync(() => camera.FramesDelivered >= before + 5, "five more frames arrived while the identifier was busy", Eventually.HangGuard);
                release.Release();
            }
            await Eventually.UntilAsync(() => camera.FramesProcessed >= 3, "three frames were identified", Eventually.HangGuard);
        }
        finally
        {
            release.Release(100);
            await stop.CancelAsync();
            await running;
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(camera.FramesDropped, Is.GreaterThan(0), "frames that arrived while busy were dropped");
            Assert.That(camera.FramesProcessed, Is.LessThan(camera.FramesDelivered));
            Assert.That(camera.FramesProcessed + camera.FramesDropped, Is.LessThanOrEqualTo(camera.FramesDelivered));
            Assert.That(camera.StaleTakes, Is.Zero, "every frame identified was the newest one when it was taken");
            Assert.That(calls, Is.EqualTo(camera.FramesProcessed));
        }
    }

    [Test]
    public async Task Two_cameras_seeing_the_same_pupil_count_one_pass()
    {
        string video = await FaceAssets.VideoOfAsync(5, 10, 2, 3);
        var window = new FaceDecisionWindow(new FaceWindowOptions { Deadline = TimeSpan.FromSeconds(5), Cooldown = TimeSpan.FromMinutes(5) });
        var submitted = new List<FaceRead>();
        ValueTask Submit(FaceRead read)
        {
            lock (submitted) submitted.Add(read);
            return ValueTask.CompletedTask;
        }
        Identification Recognise(RawImage image) => new(TemplateExtraction.Of([1f], 1f), s_pupil5);
        var cameras = new[] { "cam-left", "cam-right" }
            .Select(id => new CameraCredentialSource(Plan(id, video, 10), Recognise, null, window, Submit, _loggers.CreateLogger("test"), TimeProvider.System))
            .ToList();
        using var stop = new CancellationTokenSource();
        var running = cameras.Select(c => c.RunAsync(stop.Token)).ToList();
        try
        {
            await Eventually.UntilAsync(() => cameras.All(c => c.FramesProcessed >= 6), "both cameras identified six frames", Eventually.HangGuard);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(running);
        }

        lock (submitted)
        {
            Assert.That(submitted, Has.Count.EqualTo(1), "one pass, however many cameras and frames saw it");
            Assert.That(submitted[0].PupilId, Is.EqualTo(5));
            Assert.That(submitted[0].IsStillInTime(), Is.True);
        }
        Assert.That(cameras.Sum(c => c.Actuations), Is.EqualTo(1));
    }

    [Test]
    public async Task A_look_alike_asks_for_the_card_once_and_never_opens()
    {
        string video = await FaceAssets.VideoOfAsync(5, 10, 2, 3);
        var twin = new IdentifyDecision(IdentifyOutcome.SecondFactorRequired, 5, 0.95f, 0.94f, [new Candidate(5, 1, 0.95f), new Candidate(6, 2, 0.94f)], "look-alike");
        var submitted = new List<FaceRead>();
        var camera = new CameraCredentialSource(Plan("cam", video, 10), _ => new Identification(TemplateExtraction.Of([1f], 1f), twin), null, new FaceDecisionWindow(),
            read => { lock (submitted) submitted.Add(read); return ValueTask.CompletedTask; }, _loggers.CreateLogger("test"), TimeProvider.System);
        using var stop = new CancellationTokenSource();
        var running = camera.RunAsync(stop.Token);
        try
        {
            await Eventually.UntilAsync(() => camera.FramesProcessed >= 5, "five frames identified", Eventually.HangGuard);
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }

        lock (submitted)
        {
            Assert.That(submitted, Has.Count.EqualTo(1), "asked once, not once per frame");
            Assert.That(submitted[0].SecondFactorRequired, Is.True);
            Assert.That(submitted[0].IsStillInTime(), Is.False, "never actuates");
        }
        Assert.That(camera.Actuations, Is.Zero);
    }
}
