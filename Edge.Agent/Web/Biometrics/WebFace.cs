using System.Collections.Concurrent;
using System.Security.Cryptography;
using Kezekshi.Edge.Agent.Recognition;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Identification;
using Kezekshi.Edge.Biometrics.Index;

namespace Kezekshi.Edge.Agent.Web.Biometrics;

/// <summary>A face the till recognised, waiting for the cashier to confirm it is the child in front of them.</summary>
internal sealed record PendingFaceMatch(IdentifyDecision Decision, long PupilId, string Account, DateTimeOffset Expires);

/// <summary>
/// The web UI's access to the face pipeline: whether it is usable (and why not), one extraction at a time, and the
/// till's recognised-but-not-yet-confirmed faces.
/// </summary>
/// <remarks>
/// Extractions from the web UI are serialised: the ONNX sessions keep per-call buffers, and two tills plus an
/// enrolment at once would otherwise share them. On two cores a queue of a few 50 ms calls is not noticed.
/// A pending match lives two minutes and is used once: the cashier confirms the child they see, not a face
/// recognised for someone else's till or a minute ago.
/// </remarks>
public sealed class WebFace
{
    private static readonly TimeSpan s_pendingLifetime = TimeSpan.FromMinutes(2);
    private readonly ConcurrentDictionary<string, PendingFaceMatch> _pending = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _extraction = new(1, 1);
    private readonly TimeProvider _time;

    public WebFace(FaceRecognition? recognition, TimeProvider time)
    {
        Recognition = recognition;
        _time = time;
    }

    /// <summary>Null when the school has not turned biometrics on (no DPIA recorded).</summary>
    public FaceRecognition? Recognition { get; }

    public BiometricsModule? Module => Recognition?.Module;

    /// <summary>Why biometrics are off at this school, in words for the screen.</summary>
    public const string OffMessage = "Biometrics are off at this school (Biometrics:Enabled and the DPIA are not recorded). Cards work as always.";

    /// <summary>The identifier, or why there is none.</summary>
    public bool TryGetIdentifier(out BiometricIdentifier identifier, out string problem)
    {
        if (Recognition is null)
        {
            identifier = null!;
            problem = OffMessage;
            return false;
        }
        return Recognition.TryGetIdentifier(out identifier, out problem);
    }

    /// <summary>Runs <paramref name="work"/> (an extraction) when no other web extraction is running.</summary>
    public async Task<T> ExclusiveAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        await _extraction.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Task.Run(work, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _extraction.Release();
        }
    }

    internal string Remember(IdentifyDecision decision, long pupilId, string account)
    {
        var now = _time.GetUtcNow();
        foreach (var (key, old) in _pending)
            if (old.Expires < now) _pending.TryRemove(key, out _);
        string token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _pending[token] = new PendingFaceMatch(decision, pupilId, account, now + s_pendingLifetime);
        return token;
    }

    /// <summary>Takes the pending match (once); null if unknown, expired or recognised at another till.</summary>
    internal PendingFaceMatch? Take(string? token, string account)
    {
        if (string.IsNullOrEmpty(token) || !_pending.TryRemove(token, out var match)) return null;
        return match.Expires >= _time.GetUtcNow() && string.Equals(match.Account, account, StringComparison.OrdinalIgnoreCase) ? match : null;
    }
}
