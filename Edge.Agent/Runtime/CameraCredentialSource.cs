using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Gate;
using Kezekshi.Edge.Biometrics.Identification;
using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Index;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Runtime;

/// <summary>
/// One camera as a credential source: frames from ffmpeg → identify for the purpose "access" → the shared
/// <see cref="FaceDecisionWindow"/> → a <see cref="FaceRead"/> for the gate when the window says "actuate".
/// Supervised like a serial device: a camera that fails (unplugged, wrong URL, missing file) is logged with
/// what to check and reopened with backoff, and never touches the card readers or the other gates.
/// </summary>
/// <remarks>
/// Only the newest frame is identified: frames that arrive while a frame is being identified replace each other,
/// so a slow box processes fewer frames but never falls behind the camera (a queue of old frames would make every
/// decision late, and late decisions never actuate).
/// </remarks>
public sealed class CameraCredentialSource
{
    private static readonly TimeSpan s_secondFactorRepeat = TimeSpan.FromSeconds(5);

    private readonly CameraPlan _plan;
    private readonly Func<RawImage, Identification> _identify;
    private readonly Action<IdentifyDecision>? _recordUse;
    private readonly FaceDecisionWindow _window;
    private readonly Func<FaceRead, ValueTask> _submit;
    private readonly Func<CameraPlan, CancellationToken, IAsyncEnumerable<RawImage>> _frames;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _slotLock = new();
    private readonly Dictionary<long, long> _secondFactorShown = [];
    private (RawImage Image, long Timestamp, long Sequence)? _newest;
    private long _delivered;
    private long _processed;
    private long _dropped;
    private long _staleTakes;
    private long _actuations;
    private long _tooLate;
    private bool _firstFrameLogged;

    /// <param name="plan">The camera's configuration.</param>
    /// <param name="identify">Image → template → index for the purpose "access" (<see cref="BiometricIdentifier.Identify"/>).</param>
    /// <param name="recordUse">Audits a match the gate acted on; runs off the hot path, after the relay.</param>
    /// <param name="window">The decision window shared by every camera (so the cooldown spans cameras).</param>
    /// <param name="submit">Hands a face decision to the gate's queue.</param>
    /// <param name="frames">Where frames come from; default ffmpeg (<see cref="FfmpegCaptureSource"/>).</param>
    public CameraCredentialSource(CameraPlan plan, Func<RawImage, Identification> identify, Action<IdentifyDecision>? recordUse, FaceDecisionWindow window,
        Func<FaceRead, ValueTask> submit, ILogger logger, TimeProvider time, Func<CameraPlan, CancellationToken, IAsyncEnumerable<RawImage>>? frames = null)
    {
        _plan = plan ?? throw new ArgumentNullException(nameof(plan));
        _identify = identify ?? throw new ArgumentNullException(nameof(identify));
        _recordUse = recordUse;
        _window = window ?? throw new ArgumentNullException(nameof(window));
        _submit = submit ?? throw new ArgumentNullException(nameof(submit));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _frames = frames ?? FromFfmpeg;
        Supervisor = new DeviceSupervisor($"Camera {plan.Id}", plan.Url, logger, time);
    }

    public CameraPlan Plan => _plan;

    /// <summary>Up/down, last problem and reopen count, for the console and the tests.</summary>
    public DeviceSupervisor Supervisor { get; }

    /// <summary>Frames received from the camera.</summary>
    public long FramesDelivered => Interlocked.Read(ref _delivered);

    /// <summary>Frames identified.</summary>
    public long FramesProcessed => Interlocked.Read(ref _processed);

    /// <summary>Frames replaced by a newer one before they could be identified.</summary>
    public long FramesDropped => Interlocked.Read(ref _dropped);

    /// <summary>Frames identified that were not the newest one at the time they were taken (always 0: latency never queues up).</summary>
    public long StaleTakes => Interlocked.Read(ref _staleTakes);

    /// <summary>Face decisions handed to the gate to open it.</summary>
    public long Actuations => Interlocked.Read(ref _actuations);

    /// <summary>Decisions the window found too late after capture (the gate counts the ones that became late in its queue).</summary>
    public long TooLate => Interlocked.Read(ref _tooLate);

    public Task RunAsync(CancellationToken cancellationToken) => Supervisor.RunAsync(SessionAsync, cancellationToken);

    private static IAsyncEnumerable<RawImage> FromFfmpeg(CameraPlan plan, CancellationToken cancellationToken) =>
        new FfmpegCaptureSource(new CaptureOptions(plan.Url, plan.Width, plan.Height, plan.FramesPerSecond, plan.Loop)).ReadFramesAsync(cancellationToken);

    private async Task SessionAsync(Action opened, CancellationToken cancellationToken)
    {
        using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var frameReady = new SemaphoreSlim(0, 1);
        var reader = Task.Run(() => ReadAsync(opened, frameReady, session.Token), CancellationToken.None);
        // Identification is synchronous CPU work (ONNX Runtime) of tens to hundreds of milliseconds per frame: it gets a
        // thread of its own. On the thread pool it held a pool thread per frame, and the RS-485 poll loops' continuations
        // queued behind it (measured: input-module polls woke up to 370 ms late on a loaded 2-core box, so an 80 ms
        // pass-sensor pulse was missed).
        var processor = Task.Factory.StartNew(() => Process(frameReady, session.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await Task.WhenAny(reader, processor).ConfigureAwait(false);
        await session.CancelAsync().ConfigureAwait(false);
        try { await Task.WhenAll(reader, processor).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        catch (Exception) when (reader.IsFaulted) { }
        lock (_slotLock) _newest = null;
        if (cancellationToken.IsCancellationRequested) return;
        if (reader.Exception?.InnerException is { } failure)
        {
            throw failure switch
            {
                ImageDecodeException => new IOException(failure.Message, failure),
                IOException or InvalidOperationException => failure,
                _ => new IOException($"reading {_plan.Url} failed: {failure.Message}", failure),
            };
        }
        throw new IOException($"the stream {_plan.Url} ended (a camera that closed the connection, or a video file without Loop); check the camera is on and the URL is right");
    }

    private async Task ReadAsync(Action opened, SemaphoreSlim frameReady, CancellationToken cancellationToken)
    {
        bool first = true;
        await foreach (var image in _frames(_plan, cancellationToken).ConfigureAwait(false))
        {
            long arrived = _time.GetTimestamp();
            if (first)
            {
                first = false;
                opened();
            }
            lock (_slotLock)
            {
                long sequence = Interlocked.Increment(ref _delivered);
                if (_newest is not null) Interlocked.Increment(ref _dropped);
                _newest = (image, arrived, sequence);
            }
            if (frameReady.CurrentCount == 0)
            {
                try { frameReady.Release(); }
                catch (SemaphoreFullException) { } // the processor is already told: the slot now holds a newer frame
            }
        }
    }

    private void Process(SemaphoreSlim frameReady, CancellationToken cancellationToken)
    {
        Thread.CurrentThread.Name = "camera " + _plan.Id;
        while (!cancellationToken.IsCancellationRequested)
        {
            frameReady.Wait(cancellationToken);
            (RawImage Image, long Timestamp, long Sequence) frame;
            lock (_slotLock)
            {
                if (_newest is not { } taken) continue;
                frame = taken;
                _newest = null;
                if (frame.Sequence != Interlocked.Read(ref _delivered)) Interlocked.Increment(ref _staleTakes);
            }
            try
            {
                // The gate's queue takes the decision at once (TryWrite); waiting here keeps this thread the only one identifying.
                ProcessFrameAsync(frame.Image, frame.Timestamp).AsTask().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                AgentLog.CameraFrameFailed(_logger, _plan.Id, e);
            }
        }
    }

    private async ValueTask ProcessFrameAsync(RawImage image, long capturedAt)
    {
        var identification = _identify(image);
        Interlocked.Increment(ref _processed);
        if (!_firstFrameLogged)
        {
            _firstFrameLogged = true;
            AgentLog.CameraFirstFrame(_logger, _plan.Id, (long)_time.GetElapsedTime(capturedAt).TotalMilliseconds,
                identification.Decision?.Outcome.ToString() ?? "no template", identification.Reason);
        }
        if (identification.Decision is not { } decision) return;
        var result = _window.Offer(new FaceFrame(_plan.Id, capturedAt, decision));
        switch (result.Outcome)
        {
            case FaceWindowOutcome.Actuate when result.PupilId is { } pupil:
                Interlocked.Increment(ref _actuations);
                await _submit(new FaceRead(_plan.Id, pupil, capturedAt, () => _window.IsStillInTime(result), result.Reason, () => RecordUse(decision, pupil))).ConfigureAwait(false);
                break;
            case FaceWindowOutcome.SecondFactorRequired when result.PupilId is { } pupil:
                long now = _time.GetTimestamp();
                if (_secondFactorShown.TryGetValue(pupil, out long last) && _time.GetElapsedTime(last, now) < s_secondFactorRepeat) break;
                _secondFactorShown[pupil] = now;
                await _submit(new FaceRead(_plan.Id, pupil, capturedAt, () => false, result.Reason) { SecondFactorRequired = true }).ConfigureAwait(false);
                break;
            case FaceWindowOutcome.TooLate when result.PupilId is { } pupil:
                Interlocked.Increment(ref _tooLate);
                AgentLog.FaceTooLate(_logger, _plan.Gate, _plan.Id, pupil, (long)result.Age.TotalMilliseconds);
                break;
        }
    }

    private void RecordUse(IdentifyDecision decision, long pupil)
    {
        if (_recordUse is null) return;
        try
        {
            _recordUse(decision);
        }
        catch (Exception e)
        {
            // The arm is already free; the audit write failing must not take the camera down.
            AgentLog.FaceUseNotRecorded(_logger, _plan.Id, pupil, e.Message);
        }
    }
}
