using System.Diagnostics;
using System.Runtime.Versioning;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Recognition;
using Kezekshi.Edge.Agent.Runtime;
using Kezekshi.Edge.Agent.Tests.EndToEnd;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Face;
using Kezekshi.Edge.Biometrics.Gate;
using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Tests;

namespace Kezekshi.Edge.Agent.Tests.FaceGate;

/// <summary>
/// The camera as a credential source at the demo school's gate1, end to end: real ffmpeg reading a video made
/// from ORL faces, real ONNX Runtime and models (.cache/models), the real index with consents in biometrics.db,
/// the simulated turnstile on pseudo-terminals, passages in SQLite.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class FaceGateTests : EndToEndTest
{
    private const byte Gate1In = 1;
    private const int Pupil = 5;
    private const int OrlPerson = 5;
    private const string Camera = "gate1-camera";

    private readonly List<IDisposable> _biometrics = [];
    private GateRig? _gates;

    [TearDown]
    public async Task StopCamerasBeforeTheModelsAsync()
    {
        // Runs before the base class disposes the rig: stop the camera loops, then release the models and the store.
        if (_gates is not null) await _gates.Runtime.StopAsync();
        foreach (var disposable in Enumerable.Reverse(_biometrics)) disposable.Dispose();
        _biometrics.Clear();
        _gates = null;
    }

    private static Action<EdgeOptions, TempDirectory> CameraOnGate1(string url) => (options, _) =>
    {
        options.Gates[0].Cameras = [new CameraOptions { Id = Camera, Direction = "entry", Url = url, Width = FaceVideo.Width, Height = FaceVideo.Height, FramesPerSecond = 5, Loop = true }];
        // The deadline logic is tested on its own below; here a loaded 2-core CI box must not turn a right decision into "too late".
        options.FaceGate.DeadlineMs = 3000;
        // One pass per test: a second pulse while the test stops the agent would leave a relay half-way.
        options.FaceGate.CooldownSeconds = 600;
    };

    /// <summary>The real face pipeline over a biometrics.db in the rig's data directory, prepared before the agent starts.</summary>
    private Func<TempDirectory, FaceGateSetup> RealFaces(Action<BiometricsModule, FaceRecognition> prepare, FacePipelineOptions? pipeline = null) => directory =>
    {
        var module = BiometricsModule.Open(FaceAssets.Options(), directory.Path);
        _biometrics.Add(module);
        var recognition = new FaceRecognition(module, pipeline ?? new FacePipelineOptions());
        _biometrics.Add(recognition);
        prepare(module, recognition);
        return new FaceGateSetup { Recognition = recognition };
    };

    private static void ConsentAndEnrol(BiometricsModule module, FaceRecognition recognition)
    {
        module.Consents.RecordGrant(FaceAssets.Consent(Pupil, BiometricPurpose.Access));
        var result = recognition.Enrolment().Enrol(Pupil, FaceAssets.Photos(OrlPerson, 1, 2, 5), FaceAssets.Operator);
        Assert.That(result.TemplateIds, Has.Count.GreaterThanOrEqualTo(2), "ORL s5 enrols");
    }

    private static IReadOnlyList<(long? HolderId, string Decision, string Reason, string Outcome, string? Camera)> FacePassages(GateRig gates)
    {
        using var connection = gates.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT holder_id, decision, reason, outcome, camera FROM passages WHERE credential = 'face' ORDER BY id";
        using var reader = command.ExecuteReader();
        var list = new List<(long?, string, string, string, string?)>();
        while (reader.Read())
            list.Add((reader.IsDBNull(0) ? null : reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        return list;
    }

    [Test]
    public async Task An_enrolled_consenting_pupil_looking_at_the_camera_frees_the_entry_relay_and_a_face_passage_is_stored()
    {
        string video = await FaceAssets.VideoOfAsync(OrlPerson, 5, 2, 3);
        // One ORT thread leaves a core to the buses, as on a 2-core gate PC that also runs the cards.
        var gates = _gates = await StartGatesAsync(CameraOnGate1(video), RealFaces(ConsentAndEnrol, new FacePipelineOptions { IntraOpThreads = 1 }));

        await GateRig.WaitUntilAsync(() => FacePassages(gates).Any(p => p.Outcome != "unknown"), "a face passage is stored", TimeSpan.FromSeconds(60));
        await GateRig.WaitUntilAsync(() => gates.CoilChanges(0).Count >= 2, "the entry relay of gate1 was closed and opened again");

        var passage = FacePassages(gates)[0];
        var polls = gates.Runtime.Devices.SelectMany(d => d.PollGaps).Single();
        // Diagnostic, not asserted (timing): how late the input module's polls ran while the model was busy.
        await TestContext.Out.WriteLineAsync($"input module polls under face load: longest gap {polls.MaxGap.TotalMilliseconds:F1} ms (interval {polls.Interval.TotalMilliseconds} ms), {polls.LateCount} of {polls.Count} over twice the interval; longest bus exchange {polls.MaxExchange.TotalMilliseconds:F1} ms, latest wake-up {polls.MaxWakeLate.TotalMilliseconds:F1} ms, most thread-pool work waiting {polls.MaxPendingWork}");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(passage.HolderId, Is.EqualTo(Pupil));
            Assert.That(passage.Decision, Is.EqualTo("granted"));
            Assert.That(passage.Reason, Is.EqualTo("granted"));
            // The demo input module counts pass pulses, so ONNX Runtime busy on both cores cannot make the pass be missed.
            Assert.That(passage.Outcome, Is.EqualTo("passed"));
            Assert.That(passage.Camera, Is.EqualTo(Camera));
            Assert.That(gates.Runtime.Gates.Single(g => g.Name == "gate1").FaceLatency.Count, Is.GreaterThanOrEqualTo(1), "the face latency was recorded");
            Assert.That(gates.Logs.Entries.Where(e => e.EventId.Id == 2070).Select(e => e.Message), Has.Some.Contain("face on camera gate1-camera granted"));
        }
    }

    [Test]
    public async Task Without_consent_the_same_video_never_opens_the_gate_and_the_pupils_card_still_does()
    {
        string video = await FaceAssets.VideoOfAsync(OrlPerson, 5, 2, 3);
        var gates = _gates = await StartGatesAsync(CameraOnGate1(video), RealFaces(pipeline: new FacePipelineOptions { IntraOpThreads = 1 }, prepare: (module, recognition) =>
        {
            ConsentAndEnrol(module, recognition);
            // The parent withdraws: the templates leave the index at once and the disk with a receipt.
            Assert.That(module.Consents.Revoke(new Revocation(Pupil, null, FaceAssets.Operator, "parent withdrew consent")), Is.Not.Null);
        }));
        var camera = gates.Runtime.Cameras.Single();

        await GateRig.WaitUntilAsync(() => camera.FramesProcessed >= 10, "the camera identified 10 frames (two passes of the video)", TimeSpan.FromSeconds(60));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(FacePassages(gates), Is.Empty, "no face decision for a pupil whose consent was withdrawn");
            Assert.That(gates.RelayOnCount(0), Is.Zero, "gate1 stayed closed");
            Assert.That(camera.Actuations, Is.Zero);
        }

        gates.Hardware.Tap(Gate1In, DemoSchool.PupilCard(Pupil));

        var card = (await gates.WaitForPassagesAsync(DemoSchool.PupilCard(Pupil))).Single();
        await GateRig.WaitUntilAsync(() => gates.RelayOnCount(0) == 1, "the card freed the entry relay");
        Assert.That((card.Decision, card.Reason), Is.EqualTo(("granted", "granted")));
        Assert.That(card.Outcome, Is.EqualTo("passed"), "the pass pulse is counted by the input module while the model runs");
    }

    [Test]
    public async Task A_face_decision_past_its_deadline_does_not_actuate_and_one_in_time_does()
    {
        // Biometrics off: the configured camera is ignored with one warning, and the gate still knows its direction.
        var gates = _gates = await StartGatesAsync(CameraOnGate1("/dev/video9"));
        var gate = gates.Runtime.Gates.Single(g => g.Name == "gate1");
        Assert.That(gates.Logs.Entries.Count(e => e.EventId.Id == 2074), Is.EqualTo(1), "one warning that cameras are ignored");
        Assert.That(gates.Runtime.Cameras, Is.Empty);

        var clock = new ManualTime();
        var window = new FaceDecisionWindow(new FaceWindowOptions { Deadline = TimeSpan.FromMilliseconds(300) }, clock);
        var accepted = new IdentifyDecision(IdentifyOutcome.Accepted, Pupil, 0.95f, 0.5f, [new Candidate(Pupil, 1, 0.95f)], "test");
        window.Offer(new FaceFrame(Camera, clock.GetTimestamp(), accepted));
        var late = window.Offer(new FaceFrame(Camera, clock.GetTimestamp(), accepted));
        Assert.That(late.Outcome, Is.EqualTo(FaceWindowOutcome.Actuate));
        clock.Advance(TimeSpan.FromMilliseconds(400)); // the gate loop was held up: the pupil may have moved on

        await gate.HandleFaceAsync(new FaceRead(Camera, Pupil, Stopwatch.GetTimestamp(), () => window.IsStillInTime(late), "test"), CancellationToken.None);

        Assert.That(gate.FaceTooLate, Is.EqualTo(1));
        Assert.That(gates.RelayOnCount(0), Is.Zero, "a late decision never pulses the relay");
        Assert.That(gates.Logs.Entries.Where(e => e.EventId.Id == 2071).Select(e => e.Message), Has.One.Contain("past the deadline"));

        var fresh = new FaceDecisionWindow(new FaceWindowOptions { Deadline = TimeSpan.FromMilliseconds(300) }, clock);
        fresh.Offer(new FaceFrame(Camera, clock.GetTimestamp(), accepted));
        var inTime = fresh.Offer(new FaceFrame(Camera, clock.GetTimestamp(), accepted));
        await gate.HandleFaceAsync(new FaceRead(Camera, Pupil, Stopwatch.GetTimestamp(), () => fresh.IsStillInTime(inTime), "test"), CancellationToken.None);

        await GateRig.WaitUntilAsync(() => FacePassages(gates).Count == 1 && FacePassages(gates)[0].Outcome != "unknown", "the face passage is stored");
        await GateRig.WaitUntilAsync(() => gates.CoilChanges(0).Count >= 2, "the entry relay of gate1 was closed and opened again");
        Assert.That(gates.RelayOnCount(0), Is.EqualTo(1));
        Assert.That(FacePassages(gates)[0], Is.EqualTo(((long?)Pupil, "granted", "granted", "passed", (string?)Camera)));
        Assert.That(gates.Runtime.Presence.IsInside(HolderKind.Pupil, Pupil), Is.True, "a face pass counts for anti-passback like a card");
    }

    [Test]
    public async Task A_camera_whose_video_file_is_missing_is_reported_with_what_to_check_and_retried_while_cards_work()
    {
        string missing = Path.Combine(Path.GetTempPath(), "kezekshi-no-such-video-" + Guid.NewGuid().ToString("N")[..8] + ".mkv");
        var gates = _gates = await StartGatesAsync(CameraOnGate1(missing), RealFaces((_, _) => { }, new FacePipelineOptions()));
        var camera = gates.Runtime.Cameras.Single();

        await GateRig.WaitUntilAsync(() => gates.Logs.Entries.Count(e => e.EventId.Id == 2030 && e.Message.Contains(Camera, StringComparison.Ordinal)) >= 2,
            "the camera failed and was retried");
        gates.Hardware.Tap(Gate1In, DemoSchool.PupilCard(7));
        var card = (await gates.WaitForPassagesAsync(DemoSchool.PupilCard(7))).Single();

        var failure = gates.Logs.Entries.First(e => e.EventId.Id == 2030 && e.Message.Contains(Camera, StringComparison.Ordinal)).Message;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(failure, Does.Contain(missing).And.Contain("Check the device path or URL").And.Contain("Reopening in"));
            Assert.That(camera.Supervisor.IsUp, Is.False);
            Assert.That(camera.Supervisor.Opens, Is.Zero);
            Assert.That((card.Decision, card.Outcome), Is.EqualTo(("granted", "passed")), "the card reader of the same gate works");
        }
    }

    [Test]
    public async Task Without_the_models_the_cameras_stay_idle_the_log_says_why_and_cards_work()
    {
        ExpectErrorLogs(e => e.EventId.Id == 2075);
        using var noModels = new TempDirectory();
        var pipeline = new FacePipelineOptions { ModelsFolder = noModels.Path };
        var gates = _gates = await StartGatesAsync(CameraOnGate1("/dev/video9"), RealFaces((_, _) => { }, pipeline));

        gates.Hardware.Tap(Gate1In, DemoSchool.PupilCard(8));
        var card = (await gates.WaitForPassagesAsync(DemoSchool.PupilCard(8))).Single();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(gates.Runtime.Cameras, Is.Empty);
            Assert.That(gates.Logs.Entries.Where(e => e.EventId.Id == 2075).Select(e => e.Message),
                Has.One.Contain("face recognition is unavailable").And.Contain("tools/setup.sh"));
            Assert.That((card.Decision, card.Outcome), Is.EqualTo(("granted", "passed")));
        }
    }
}
