using Kezekshi.Edge.Biometrics.Index;

namespace Kezekshi.Edge.Biometrics.Gate;

/// <summary>Timing rules of the face decision at the gate.</summary>
public sealed record FaceWindowOptions
{
    /// <summary>Frames captured longer ago than this (before the newest frame of the camera) no longer vote.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Accepted frames for the same pupil needed to decide.</summary>
    public int VotesNeeded { get; init; } = 2;

    /// <summary>A decision whose deciding frame was captured longer ago than this never actuates: the pupil may have moved on.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>After a pupil is let through, further decisions for them on ANY camera are ignored for this long: one pass counts once.</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>One processed camera frame: where, when it was captured (a <see cref="TimeProvider"/> timestamp), and what the index said.</summary>
public readonly record struct FaceFrame(string CameraId, long CapturedAt, IdentifyDecision Decision);

/// <summary>What the window says about the frame just offered.</summary>
public enum FaceWindowOutcome
{
    /// <summary>Not decided yet: more frames needed (or the frame was Unknown).</summary>
    Pending,

    /// <summary>Open the gate for <see cref="FaceWindowResult.PupilId"/> now.</summary>
    Actuate,

    /// <summary>The votes agreed, but the deciding frame is older than the deadline: do nothing.</summary>
    TooLate,

    /// <summary>The pupil was let through moments ago (maybe on another camera): this pass is already counted.</summary>
    CoolingDown,

    /// <summary>The face matches a pupil with an enrolled look-alike: ask for the card or PIN.</summary>
    SecondFactorRequired,
}

/// <summary>The window's answer for one frame.</summary>
/// <param name="ClaimedAt">For <see cref="FaceWindowOutcome.Actuate"/>: the timestamp the pupil's cooldown started at (released again if the relay check finds the decision too late).</param>
public sealed record FaceWindowResult(FaceWindowOutcome Outcome, long? PupilId, string CameraId, long CapturedAt, TimeSpan Age, string Reason, long ClaimedAt = 0);

/// <summary>
/// Turns per-frame identify decisions into at most one gate decision per pass: voting over the
/// frames of a short window, a hard deadline after capture, and a per-pupil cooldown shared by all
/// cameras. Pure logic over a <see cref="TimeProvider"/>; the camera loop feeds it.
/// </summary>
/// <remarks>
/// A single good frame is not enough (one lucky frame of a look-alike must not open the gate), and a
/// correct decision that arrives late must not open the gate either: the pupil it was meant for may
/// already be through, and the person now in front of the turnstile may be someone else.
/// </remarks>
public sealed class FaceDecisionWindow
{
    private readonly FaceWindowOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<(long CapturedAt, long PupilId)>> _votesByCamera = new(StringComparer.Ordinal);
    private readonly Dictionary<long, long> _lastActuation = [];

    public FaceDecisionWindow(FaceWindowOptions? options = null, TimeProvider? time = null)
    {
        _options = options ?? new FaceWindowOptions();
        _time = time ?? TimeProvider.System;
        if (_options.VotesNeeded < 1)
            throw new ArgumentOutOfRangeException(nameof(options), _options.VotesNeeded, "FaceWindow:VotesNeeded must be at least 1.");
        if (_options.Deadline <= TimeSpan.Zero || _options.Window <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), "FaceWindow:Deadline and FaceWindow:Window must be positive.");
    }

    public FaceWindowOptions Options => _options;

    /// <summary>Offers one frame's decision and says whether to open the gate now.</summary>
    public FaceWindowResult Offer(FaceFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame.Decision);
        lock (_lock)
        {
            long now = _time.GetTimestamp();
            var age = _time.GetElapsedTime(frame.CapturedAt, now);
            var decision = frame.Decision;
            if (decision.Outcome == IdentifyOutcome.SecondFactorRequired)
                return Result(FaceWindowOutcome.SecondFactorRequired, decision.PupilId, frame, age, decision.Reason);
            if (!_votesByCamera.TryGetValue(frame.CameraId, out var votes))
                _votesByCamera[frame.CameraId] = votes = [];
            long windowStart = frame.CapturedAt - ToTicks(_options.Window);
            votes.RemoveAll(v => v.CapturedAt < windowStart);
            if (decision.Outcome != IdentifyOutcome.Accepted || decision.PupilId is not { } pupil)
                return Result(FaceWindowOutcome.Pending, null, frame, age, decision.Reason);
            votes.Add((frame.CapturedAt, pupil));

            int forPupil = votes.Count(v => v.PupilId == pupil);
            int bestOther = votes.Where(v => v.PupilId != pupil).GroupBy(v => v.PupilId).Select(g => g.Count()).DefaultIfEmpty(0).Max();
            if (forPupil < _options.VotesNeeded || forPupil <= bestOther)
                return Result(FaceWindowOutcome.Pending, pupil, frame, age, $"{forPupil} of {_options.VotesNeeded} votes for pupil {pupil}" + (bestOther > 0 ? $", {bestOther} for another pupil" : ""));
            if (age > _options.Deadline)
            {
                votes.RemoveAll(v => v.PupilId == pupil);
                return Result(FaceWindowOutcome.TooLate, pupil, frame, age, $"decided {age.TotalMilliseconds:F0} ms after capture, later than the {_options.Deadline.TotalMilliseconds:F0} ms deadline: not actuating");
            }
            if (_lastActuation.TryGetValue(pupil, out long last) && _time.GetElapsedTime(last, now) < _options.Cooldown)
            {
                votes.RemoveAll(v => v.PupilId == pupil);
                return Result(FaceWindowOutcome.CoolingDown, pupil, frame, age, $"pupil {pupil} was let through {_time.GetElapsedTime(last, now).TotalMilliseconds:F0} ms ago: already counted");
            }
            _lastActuation[pupil] = now;
            foreach (var cameraVotes in _votesByCamera.Values)
                cameraVotes.RemoveAll(v => v.PupilId == pupil);
            return Result(FaceWindowOutcome.Actuate, pupil, frame, age, $"pupil {pupil}: {forPupil} votes, {age.TotalMilliseconds:F0} ms after capture") with { ClaimedAt = now };
        }
    }

    /// <summary>
    /// Re-checks the deadline just before the relay pulses (the caller may have been delayed after
    /// <see cref="Offer"/>). False means: do not actuate. A decision found too late here also gives back
    /// the pupil's cooldown: the gate never opened, so the child still in front of the camera must be
    /// able to pass on the next in-time decision instead of waiting out a cooldown for nothing.
    /// </summary>
    public bool IsStillInTime(FaceWindowResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Outcome != FaceWindowOutcome.Actuate)
            return false;
        if (_time.GetElapsedTime(result.CapturedAt) <= _options.Deadline)
            return true;
        lock (_lock)
        {
            // Only this decision's own claim: a later actuation for the pupil keeps its cooldown.
            if (result.PupilId is { } pupil && _lastActuation.TryGetValue(pupil, out long claimed) && claimed == result.ClaimedAt)
                _lastActuation.Remove(pupil);
        }
        return false;
    }

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private static FaceWindowResult Result(FaceWindowOutcome outcome, long? pupil, FaceFrame frame, TimeSpan age, string reason) =>
        new(outcome, pupil, frame.CameraId, frame.CapturedAt, age, reason);
}
