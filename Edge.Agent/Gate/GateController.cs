using System.Threading.Channels;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Devices.Cards;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Gate;

/// <summary>
/// One gate: takes card reads from its readers, decides, drives the relay, waits for the pass sensor
/// and records the passage. The hot path — read → policy → journal → relay — touches no network, no
/// database and no lock held by anything slow.
/// </summary>
public sealed class GateController
{
    private readonly ITurnstile _turnstile;
    private readonly Func<AccessSnapshot> _snapshot;
    private readonly PresenceTracker _presence;
    private readonly EmergencyState _emergency;
    private readonly ActuationJournal? _journal;
    private readonly PassageRecorder _recorder;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, (Direction Direction, IReaderFeedback Feedback)> _readers = new(StringComparer.Ordinal);
    private readonly Queue<Passage>[] _waitingToPass = [new(), new()];
    private readonly Dictionary<string, Direction> _cameras = new(StringComparer.Ordinal);

    public GateController(string name, ITurnstile turnstile, Func<AccessSnapshot> snapshot, PresenceTracker presence,
        EmergencyState emergency, ActuationJournal? journal, PassageRecorder recorder, TimeProvider time, ILogger logger)
    {
        Name = name;
        _turnstile = turnstile;
        _snapshot = snapshot;
        _presence = presence;
        _emergency = emergency;
        _journal = journal;
        _recorder = recorder;
        _time = time;
        _logger = logger;
    }

    public string Name { get; }

    /// <summary>Decisions made, with software latency, for the console histogram and the demo summary.</summary>
    public LatencyHistogram Latency { get; } = new();

    /// <summary>Face decisions that reached the relay: from the deciding frame's arrival to the relay acknowledging, in µs.</summary>
    public LatencyHistogram FaceLatency { get; } = new();

    /// <summary>Face decisions that were not acted on because they came later than the deadline after capture.</summary>
    public long FaceTooLate => Interlocked.Read(ref _faceTooLate);
    private long _faceTooLate;

    /// <summary>Raised after every decision (for the live console); handlers must be quick.</summary>
    public event Action<Passage>? Decided;

    public void AddReader(string readerId, Direction direction, IReaderFeedback feedback) => _readers[readerId] = (direction, feedback);

    public bool HasReader(string readerId) => _readers.ContainsKey(readerId);

    /// <summary>A camera whose recognised faces free <paramref name="direction"/>.</summary>
    public void AddCamera(string cameraId, Direction direction) => _cameras[cameraId] = direction;

    public bool HasCamera(string cameraId) => _cameras.ContainsKey(cameraId);

    /// <summary>
    /// Handles one face decision from one of this gate's cameras: the same policy as a card (found by pupil ID),
    /// the deadline checked again just before the relay, the passage recorded with credential "face". During an
    /// emergency the gate is held open and faces are not recorded (nobody is checked).
    /// </summary>
    public async ValueTask HandleFaceAsync(FaceRead face, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(face);
        if (!_cameras.TryGetValue(face.CameraId, out var direction) || _emergency.IsActive) return;
        var now = _time.GetUtcNow();
        var snapshot = _snapshot();
        GateDecision decision;
        if (face.SecondFactorRequired)
        {
            decision = new GateDecision(false, DecisionReason.SecondFactorRequired, null, snapshot.Pupils.GetValueOrDefault(face.PupilId));
            AgentLog.FaceSecondFactor(_logger, Name, Passage.DirectionCode(direction), face.CameraId, face.PupilId);
        }
        else
        {
            try
            {
                decision = GatePolicy.DecideFace(snapshot, _presence, Name, direction, face.PupilId, now);
            }
            catch (Exception e)
            {
                AgentLog.DecisionFailed(_logger, Name, e);
                decision = GateDecision.Deny(DecisionReason.InternalError);
            }
        }
        if (decision.Granted && !face.IsStillInTime())
        {
            // The pupil it was meant for may be through already, and someone else in front of the arm: do nothing.
            Interlocked.Increment(ref _faceTooLate);
            AgentLog.FaceTooLate(_logger, Name, face.CameraId, face.PupilId, (long)_time.GetElapsedTime(face.CapturedTimestamp).TotalMilliseconds);
            return;
        }

        var passage = new Passage
        {
            Uid = Guid.CreateVersion7(now).ToString("N"),
            Gate = Name,
            Direction = direction,
            Credential = PassageCredential.Face,
            CameraId = face.CameraId,
            Holder = decision.Holder,
            Decision = decision,
            DecidedAt = now,
            Outcome = decision.Granted ? PassageOutcome.Unknown : PassageOutcome.Denied,
            Note = decision.Reason == DecisionReason.SecondFactorRequired ? "face has an enrolled look-alike: tap the card" : null,
        };
        if (_journal is not null && !_journal.Append(passage) && _journal.FailedWrites % 100 == 1)
            AgentLog.JournalWriteFailed(_logger, _journal.Path, _journal.LastFailure ?? "");
        if (decision.Granted)
        {
            // Waiting for the pass sensor before the relay closes: the pupil is already at the arm and may push it
            // the moment it is free, before the board's acknowledgement is back on a busy PC.
            lock (_waitingToPass) _waitingToPass[(int)direction].Enqueue(passage);
            try
            {
                await _turnstile.PulseAsync(direction, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                AgentLog.RelayFailed(_logger, Name, e.Message);
                RemoveWaiting(passage);
                passage.Outcome = PassageOutcome.NotPassed;
                passage.Note = "relay command failed: " + e.Message;
            }
        }
        long latencyUs = (long)_time.GetElapsedTime(face.CapturedTimestamp).TotalMicroseconds;
        passage.LatencyMicroseconds = latencyUs;
        if (decision.Granted) FaceLatency.Record(latencyUs);
        AgentLog.FaceDecision(_logger, Name, Passage.DirectionCode(direction), face.CameraId,
            decision.Granted ? "granted" : "denied", GateDecision.ReasonCode(decision.Reason), passage.Holder?.FullName ?? $"pupil {face.PupilId}", latencyUs, face.Evidence);

        if (decision.Granted && passage.Outcome != PassageOutcome.NotPassed)
        {
            _ = ExpireAsync(passage, cancellationToken);
            if (face.OnActuated is { } acted) _ = Task.Run(acted, CancellationToken.None);
        }
        else
        {
            Complete(passage, passage.Outcome);
        }
        RaiseDecided(passage);
    }

    /// <summary>Handles one card read from one of this gate's readers (already debounced).</summary>
    public async ValueTask HandleCardAsync(CardRead read, CancellationToken cancellationToken)
    {
        if (!_readers.TryGetValue(read.ReaderId, out var reader)) return;
        var now = _time.GetUtcNow();
        GateDecision decision;
        if (_emergency.IsActive)
        {
            decision = new GateDecision(true, DecisionReason.Emergency, _snapshot().Credentials.GetValueOrDefault(read.CardNumber));
        }
        else
        {
            try
            {
                decision = GatePolicy.Decide(_snapshot(), _presence, Name, reader.Direction, read.CardNumber, now);
            }
            catch (Exception e)
            {
                AgentLog.DecisionFailed(_logger, Name, e);
                decision = GateDecision.Deny(DecisionReason.InternalError);
            }
        }

        var passage = new Passage
        {
            Uid = Guid.CreateVersion7(now).ToString("N"),
            Gate = Name,
            Direction = reader.Direction,
            CardNumber = read.CardNumber,
            Holder = decision.Credential?.Holder,
            Decision = decision,
            DecidedAt = now,
            Outcome = decision.Granted ? PassageOutcome.Unknown : PassageOutcome.Denied,
        };
        if (_journal is not null && !_journal.Append(passage) && _journal.FailedWrites % 100 == 1)
            AgentLog.JournalWriteFailed(_logger, _journal.Path, _journal.LastFailure ?? "");

        if (decision.Granted && decision.Reason != DecisionReason.Emergency)
        {
            try
            {
                await _turnstile.PulseAsync(reader.Direction, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                AgentLog.RelayFailed(_logger, Name, e.Message);
                passage.Outcome = PassageOutcome.NotPassed;
                passage.Note = "relay command failed: " + e.Message;
            }
        }
        long latencyUs = (long)_time.GetElapsedTime(read.ReceivedTimestamp).TotalMicroseconds;
        passage.LatencyMicroseconds = latencyUs;
        Latency.Record(latencyUs);
        // Green tells the pupil to push the arm: only if the relay did free it.
        _ = ShowFeedbackAsync(reader.Feedback, decision.Granted && passage.Outcome != PassageOutcome.NotPassed, cancellationToken);

        AgentLog.Decision(_logger, Name, Passage.DirectionCode(reader.Direction), read.CardNumber,
            decision.Granted ? "granted" : "denied", GateDecision.ReasonCode(decision.Reason), passage.Holder?.FullName ?? "", latencyUs);

        if (decision.Reason == DecisionReason.Emergency)
        {
            Complete(passage, PassageOutcome.FreePass);
        }
        else if (decision.Granted && passage.Outcome == PassageOutcome.Unknown)
        {
            lock (_waitingToPass) _waitingToPass[(int)reader.Direction].Enqueue(passage);
            _ = ExpireAsync(passage, cancellationToken);
        }
        else
        {
            Complete(passage, passage.Outcome);
        }
        RaiseDecided(passage);
    }

    private void RaiseDecided(Passage passage)
    {
        try
        {
            Decided?.Invoke(passage);
        }
        catch (Exception e)
        {
            // A console or board listener must never stop the gate.
            _logger.LogWarning(e, "{Gate}: a decision listener failed", Name);
        }
    }

    /// <summary>A guard lets a person through by hand; recorded against the person and the guard.</summary>
    public async Task<Passage> ManualPassAsync(Direction direction, Holder? holder, long guardStaffId, string? note, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var passage = new Passage
        {
            Uid = Guid.CreateVersion7(now).ToString("N"),
            Gate = Name,
            Direction = direction,
            Credential = PassageCredential.None,
            Holder = holder,
            Decision = new GateDecision(true, DecisionReason.ManualPass, null),
            DecidedAt = now,
            ManualByStaffId = guardStaffId,
            Note = note,
            Outcome = PassageOutcome.Unknown,
        };
        _journal?.Append(passage);
        await _turnstile.PulseAsync(direction, cancellationToken).ConfigureAwait(false);
        lock (_waitingToPass) _waitingToPass[(int)direction].Enqueue(passage);
        _ = ExpireAsync(passage, cancellationToken);
        RaiseDecided(passage);
        return passage;
    }

    /// <summary>The pass sensor for <paramref name="direction"/> saw someone go through.</summary>
    public void OnPassSensor(Direction direction)
    {
        Passage? passage;
        lock (_waitingToPass)
        {
            if (!_waitingToPass[(int)direction].TryDequeue(out passage)) return; // a push without a grant: ignore
        }
        Complete(passage, PassageOutcome.Passed);
    }

    /// <summary>
    /// Records every passage still waiting for its pass sensor with outcome unknown: the agent is stopping and will
    /// not see the sensor. Called after the gate loop has ended and before the recorder stops, so a clean stop leaves
    /// nothing to the journal (the expiry timers' cancellation may run too late for the recorder).
    /// </summary>
    public void AbandonWaiting()
    {
        List<Passage> waiting;
        lock (_waitingToPass)
        {
            waiting = [.. _waitingToPass[0], .. _waitingToPass[1]];
            _waitingToPass[0].Clear();
            _waitingToPass[1].Clear();
        }
        foreach (var passage in waiting) Complete(passage, PassageOutcome.Unknown);
    }

    /// <summary>Passages granted and not yet passed or expired.</summary>
    public int WaitingToPass { get { lock (_waitingToPass) return _waitingToPass[0].Count + _waitingToPass[1].Count; } }

    private async Task ExpireAsync(Passage passage, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(_turnstile.PassTime, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutting down: the passage is still recorded, with an unknown outcome.
        }
        if (RemoveWaiting(passage)) Complete(passage, cancellationToken.IsCancellationRequested ? PassageOutcome.Unknown : PassageOutcome.NotPassed);
    }

    private bool RemoveWaiting(Passage passage)
    {
        lock (_waitingToPass)
        {
            var queue = _waitingToPass[(int)passage.Direction];
            if (!queue.Contains(passage)) return false;
            var keep = queue.Where(p => !ReferenceEquals(p, passage)).ToArray();
            queue.Clear();
            foreach (var p in keep) queue.Enqueue(p);
            return true;
        }
    }

    private void Complete(Passage passage, PassageOutcome outcome)
    {
        passage.Outcome = outcome;
        passage.CompletedAt = _time.GetUtcNow();
        if (passage.Holder is { } holder && outcome is PassageOutcome.Passed or PassageOutcome.FreePass)
            _presence.Record(holder.Kind, holder.Id, passage.Direction);
        _recorder.Enqueue(passage);
    }

    private async Task ShowFeedbackAsync(IReaderFeedback feedback, bool granted, CancellationToken cancellationToken)
    {
        try
        {
            await feedback.ShowAsync(granted, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The LED is a courtesy: a reader that cannot show it does not change the decision.
            _logger.LogDebug(e, "{Gate}: reader feedback failed", Name);
        }
    }

    /// <summary>Holds the gate open or releases it, for emergency mode.</summary>
    public ValueTask HoldOpenAsync(bool open, CancellationToken cancellationToken) => _turnstile.HoldOpenAsync(open, cancellationToken);
}

/// <summary>A lock-free histogram of decision latency in microseconds (log-spaced buckets), for the console and the demo summary.</summary>
public sealed class LatencyHistogram
{
    // Bucket i holds values in [2^(i/4), 2^((i+1)/4)) µs: ~19% resolution up to ~1 s.
    private readonly long[] _buckets = new long[96];
    private long _count;
    private long _max;

    public long Count => Interlocked.Read(ref _count);
    public long MaxMicroseconds => Interlocked.Read(ref _max);

    public void Record(long microseconds)
    {
        if (microseconds < 1) microseconds = 1;
        int bucket = Math.Min(_buckets.Length - 1, (int)(Math.Log2(microseconds) * 4));
        Interlocked.Increment(ref _buckets[bucket]);
        Interlocked.Increment(ref _count);
        long max;
        while (microseconds > (max = Interlocked.Read(ref _max)) && Interlocked.CompareExchange(ref _max, microseconds, max) != max) { }
    }

    /// <summary>The upper edge of the bucket holding the given percentile (0–100).</summary>
    public double Percentile(double percentile)
    {
        long total = Count;
        if (total == 0) return 0;
        long target = (long)Math.Ceiling(total * percentile / 100.0);
        long seen = 0;
        for (int i = 0; i < _buckets.Length; i++)
        {
            seen += Interlocked.Read(ref _buckets[i]);
            if (seen >= target) return Math.Min(Math.Pow(2, (i + 1) / 4.0), MaxMicroseconds);
        }
        return MaxMicroseconds;
    }

    public long[] Buckets() => [.. _buckets];
}
