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

    /// <summary>Raised after every decision (for the live console); handlers must be quick.</summary>
    public event Action<Passage>? Decided;

    public void AddReader(string readerId, Direction direction, IReaderFeedback feedback) => _readers[readerId] = (direction, feedback);

    public bool HasReader(string readerId) => _readers.ContainsKey(readerId);

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
        bool removed;
        lock (_waitingToPass)
        {
            var queue = _waitingToPass[(int)passage.Direction];
            removed = queue.Contains(passage);
            if (removed)
            {
                var keep = queue.Where(p => !ReferenceEquals(p, passage)).ToArray();
                queue.Clear();
                foreach (var p in keep) queue.Enqueue(p);
            }
        }
        if (removed) Complete(passage, cancellationToken.IsCancellationRequested ? PassageOutcome.Unknown : PassageOutcome.NotPassed);
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
