namespace Kezekshi.Edge.Agent.Gate;

/// <summary>
/// A camera's decision that it saw one pupil, handed to the gate like a card read. The gate applies the same
/// policy as for a card; it knows nothing about templates or models.
/// </summary>
/// <param name="CameraId">The camera that saw the face.</param>
/// <param name="PupilId">Whom the face matched (accepted by the index with its margin, confirmed by several frames).</param>
/// <param name="CapturedTimestamp">When the deciding frame arrived from the camera (a <see cref="TimeProvider"/> timestamp): latency is measured from here.</param>
/// <param name="IsStillInTime">Asked just before the relay pulses: false when the deciding frame is older than the deadline.</param>
/// <param name="Evidence">Why the camera decided (votes, age), for the log.</param>
/// <param name="OnActuated">Called after the relay freed the arm, off the gate's hot path (the biometric audit record).</param>
public sealed record FaceRead(string CameraId, long PupilId, long CapturedTimestamp, Func<bool> IsStillInTime, string Evidence, Action? OnActuated = null)
{
    /// <summary>True when the camera saw a pupil with an enrolled look-alike: the gate asks for the card and never opens.</summary>
    public bool SecondFactorRequired { get; init; }
}
