namespace Kezekshi.Edge.Biometrics.Palm;

/// <summary>A point in source-image pixels.</summary>
public readonly record struct PalmPoint(float X, float Y);

/// <summary>
/// One palm found by the palm detector, in source-image pixels: the box centre and size, the score, and
/// MediaPipe's seven palm keypoints (wrist centre, index/middle/ring/pinky finger MCPs, thumb CMC, thumb MCP).
/// </summary>
public sealed record PalmDetection(float CentreX, float CentreY, float Width, float Height, float Score, PalmPoint[] Keypoints)
{
    public PalmPoint Wrist => Keypoints[0];

    public PalmPoint MiddleFingerBase => Keypoints[2];

    /// <summary>
    /// How far the hand is turned from "fingers up", in radians (clockwise positive, image y down): MediaPipe's
    /// rotation from the wrist → middle-finger keypoints with a target angle of 90°, normalised to [-π, π).
    /// </summary>
    public float Rotation
    {
        get
        {
            var angle = (MathF.PI / 2) - MathF.Atan2(-(MiddleFingerBase.Y - Wrist.Y), MiddleFingerBase.X - Wrist.X);
            return angle - (2 * MathF.PI * MathF.Floor((angle + MathF.PI) / (2 * MathF.PI)));
        }
    }
}

/// <summary>
/// The 21 MediaPipe hand landmarks in source-image pixels (0 wrist; 1–4 thumb; 5–8 index, 5 its MCP; 9–12 middle,
/// 9 its MCP; 13–16 ring; 17–20 little finger, 17 its MCP), with the model's hand presence and handedness.
/// </summary>
/// <param name="Presence">Probability that the crop shows a hand (0..1).</param>
/// <param name="Handedness">The model's probability (0..1) for its "right hand" label (see <see cref="PalmQualityOptions.HandednessMirrored"/>).</param>
public sealed record HandLandmarks(PalmPoint[] Points, float Presence, float Handedness)
{
    public const int Count = 21;
    public const int Wrist = 0;
    public const int IndexMcp = 5;
    public const int MiddleMcp = 9;
    public const int PinkyMcp = 17;

    public PalmPoint this[int index] => Points[index];

    /// <summary>Distance wrist → middle-finger MCP in source pixels: the palm length the size check uses.</summary>
    public float PalmLength => MathF.Sqrt(MathF.Pow(Points[MiddleMcp].X - Points[Wrist].X, 2) + MathF.Pow(Points[MiddleMcp].Y - Points[Wrist].Y, 2));

    /// <summary>
    /// Which way round the palm appears: the sign of (wrist → middle MCP) × (pinky MCP → index MCP) in image
    /// coordinates. Positive when, with the fingers up, the index finger is on the image's right.
    /// </summary>
    public float Chirality
    {
        get
        {
            var (ax, ay) = (Points[MiddleMcp].X - Points[Wrist].X, Points[MiddleMcp].Y - Points[Wrist].Y);
            var (bx, by) = (Points[IndexMcp].X - Points[PinkyMcp].X, Points[IndexMcp].Y - Points[PinkyMcp].Y);
            return (ax * by) - (ay * bx);
        }
    }
}

/// <summary>Finds palms (MediaPipe palm detection).</summary>
public interface IPalmDetector
{
    /// <summary>Palms above the detector's score threshold after suppression, best first.</summary>
    IReadOnlyList<PalmDetection> Detect(RawImage image);
}

/// <summary>Finds the 21 hand landmarks in the rotated, enlarged crop around a detected palm.</summary>
public interface IHandLandmarker
{
    HandLandmarks Locate(RawImage image, PalmDetection palm);
}
