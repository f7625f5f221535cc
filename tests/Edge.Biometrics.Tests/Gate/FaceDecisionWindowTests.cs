using Kezekshi.Edge.Biometrics.Gate;
using Kezekshi.Edge.Biometrics.Index;
using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests.Gate;

[TestFixture, Category("Unit")]
public sealed class FaceDecisionWindowTests
{
    private readonly ManualTime _time = new();

    private static IdentifyDecision Accepted(long pupil) => new(IdentifyOutcome.Accepted, pupil, 0.9f, 0.3f, [], "test");

    private static IdentifyDecision Unknown() => new(IdentifyOutcome.Unknown, null, 0.2f, 0.1f, [], "below threshold");

    private FaceWindowResult Capture(FaceDecisionWindow window, string camera, IdentifyDecision decision, int processingMs = 40)
    {
        long captured = _time.GetTimestamp();
        _time.Advance(TimeSpan.FromMilliseconds(processingMs));
        return window.Offer(new FaceFrame(camera, captured, decision));
    }

    [Test]
    public void One_frame_is_not_enough_two_agreeing_frames_actuate()
    {
        var window = new FaceDecisionWindow(new FaceWindowOptions { VotesNeeded = 2 }, _time);
        Assert.That(Capture(window, "cam1", Accepted(5)).Outcome, Is.EqualTo(FaceWindowOutcome.Pending));
        var second = Capture(window, "cam1", Accepted(5));
        Assert.That(second.Outcome, Is.EqualTo(FaceWindowOutcome.Actuate));
        Assert.That(second.PupilId, Is.EqualTo(5));
        Assert.That(window.IsStillInTime(second), Is.True);
    }

    [Test]
    public void Frames_for_another_pupil_do_not_count_towards_the_vote()
    {
        var window = new FaceDecisionWindow(new FaceWindowOptions { VotesNeeded = 3 }, _time);
        Capture(window, "cam1", Accepted(5));
        Capture(window, "cam1", Accepted(6));
        Assert.That(Capture(window, "cam1", Accepted(5)).Outcome, Is.EqualTo(FaceWindowOutcome.Pending));
        var third = Capture(window, "cam1", Accepted(5));
        Assert.That(third.Outcome, Is.EqualTo(FaceWindowOutcome.Actuate));
        Assert.That(third.PupilId, Is.EqualTo(5));
    }

    [Test]
    public void Unknown_frames_do_not_vote()
    {
        var window = new FaceDecisionWindow(new FaceWindowOptions { VotesNeeded = 2 }, _time);
        Capture(window, "cam1", Accepted(5));
        Assert.That(Capture(window, "cam1", Unknown()).Outcome, Is.EqualTo(FaceWindowOutcome.Pending));
        Assert.That(Capture(window, "cam1", Accepted(5)).Outcome, Is.EqualTo(FaceWindowOutcome.Actuate));
    }

    [Test]
    public void Frames_older_than_the_window_no_longer_vote()
    {
        var window = new FaceDecisionWindow(new FaceWindowOptions { VotesNeeded = 2, Window = TimeSpan.FromMilliseconds(500) }, _time);
        Capture(window, "cam1", Accepted(5));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(Capture(window, "cam1", Accepted(5)).Outcome, Is.EqualTo(FaceWindowOutcome.Pending));
    }

    [Test]
    public void A_decision_later_than_the_deadline_after_capture_never_actuates()
    {
        var window = new FaceDecisionWindow(new FaceWindowOptions { VotesNeeded = 2, Deadline = TimeSpan.FromMilliseconds(300) }, _time);
        Capture(window, "cam1", Accepted(5));
        var late = Capture(window, "cam1", Accepted(5), processingMs: 301);
        Assert.That(late.Outcome, Is.EqualTo(FaceWindowOutcome.TooLate));
        Assert.That(late.Reason, Does.Contain("deadline"));
        Assert.That(window.IsStillInTime(late), Is.False);
    }

    [Test]
    public void A_decision_delayed_after_it_was_made_is_stopped_before_the_relay()
    {
        var window = new FaceDecisionWindow(new FaceWindowOptions { VotesNeeded = 1 }, _time);
        var decision = Capture(window, "cam1", Accepted(5), processingMs: 100);
        Assert.That(decision.Outcome, Is.EqualTo(FaceWindowOutcome.Actuate));
        _time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.That(window.IsStillInTime(decision), Is.False);
    }

    [Test]
    public void A_decision_stopped_before_the_relay_does_not_start_the_cooldown()
    {
        // The gate never opened, so the pupil still in front of the camera passes on the next fresh frame.
        var window = new FaceDecisionWindow(new FaceWindowOptions { VotesNeeded = 1, Cooldown = TimeSpan.FromSeconds(5) }, _time);
        var stale = Capture(window, "cam1", Accepted(5), processingMs: 100);
        _time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.That(window.IsStillInTime(stale), Is.False);

        var fresh = Capture(window, "cam1", Accepted(5), processingMs: 20);
        Assert.That(fresh.Outcome, Is.EqualTo(FaceWindowOutcome.Actuate));
        Assert.That(window.IsStillInTime(fresh), Is.True);
        Assert.That(Capture(window, "cam2", Accepted(5), processingMs: 20).Outcome, Is.EqualTo(FaceWindowOutcome.CoolingDown), "the pass that did open counts once");
    }

    [Test]
    public void One_pass_seen_by_two_cameras_counts_once()
    {
        var window = new FaceDecisionWindow(new FaceWindowOptions { VotesNeeded = 2, Cooldown = TimeSpan.FromSeconds(5) }, _time);
        Capture(window, "cam1", Accepted(5));
        Assert.That(Capture(window, "cam1", Accepted(5)).Outcome, Is.EqualTo(FaceWindowOutcome.Actuate));
        Capture(window, "cam2", Accepted(5));
        var again = Capture(window, "cam2", Accepted(5));
        Assert.That(again.Outcome, Is.EqualTo(FaceWindowOutcome.CoolingDown));
        Assert.That(again.Reason, Does.Contain("already counted"));

        _time.Advance(TimeSpan.FromSeconds(6));
        Capture(window, "cam2", Accepted(5));
        Assert.That(Capture(window, "cam2", Accepted(5)).Outcome, Is.EqualTo(FaceWindowOutcome.Actuate), "after the cooldown the next pass counts");
    }

    [Test]
    public void The_cooldown_is_per_pupil()
    {
        var window = new FaceDecisionWindow(new FaceWindowOptions { VotesNeeded = 1 }, _time);
        Assert.That(Capture(window, "cam1", Accepted(5)).Outcome, Is.EqualTo(FaceWindowOutcome.Actuate));
        Assert.That(Capture(window, "cam1", Accepted(6)).Outcome, Is.EqualTo(FaceWindowOutcome.Actuate));
    }

    [Test]
    public void A_look_alike_asks_for_the_card()
    {
        var window = new FaceDecisionWindow(time: _time);
        var result = Capture(window, "cam1", new IdentifyDecision(IdentifyOutcome.SecondFactorRequired, 5, 0.9f, 0.1f, [], "twin"));
        Assert.That(result.Outcome, Is.EqualTo(FaceWindowOutcome.SecondFactorRequired));
        Assert.That(result.PupilId, Is.EqualTo(5));
    }
}
