using System.Globalization;
using Kezekshi.Edge.Biometrics.Imaging;

namespace Kezekshi.Edge.Biometrics.Face;

/// <summary>Limits of the face quality gate.</summary>
/// <param name="MinEyeDistance">Smallest distance between the eyes in source pixels (about 1/3 of the ArcFace crop's width).</param>
/// <param name="MaxYaw">Largest sideways turn, as the nose's offset from the eye midpoint along the eye line divided by the eye distance (0 = frontal).</param>
/// <param name="MaxRollDegrees">Largest head tilt (the eye line's angle).</param>
/// <param name="MinSharpness">Smallest Laplacian variance of the aligned grey crop.</param>
/// <param name="MinBrightness">Darkest acceptable mean grey level of the aligned crop.</param>
/// <param name="MaxBrightness">Brightest acceptable mean grey level of the aligned crop.</param>
public sealed record FaceQualityOptions(
    float MinEyeDistance = 16,
    float MaxYaw = 0.45f,
    float MaxRollDegrees = 30,
    float MinSharpness = 20,
    float MinBrightness = 40,
    float MaxBrightness = 220);

/// <summary>What the gate measured on one face, and why it was refused (null when accepted).</summary>
public sealed record FaceQuality(float EyeDistance, float Yaw, float RollDegrees, float Sharpness, float Brightness, float Score, string? RejectedBecause)
{
    public bool Accepted => RejectedBecause is null;
}

/// <summary>
/// Decides whether a face is good enough to enrol or match: size, pose from the keypoints, blur and
/// exposure of the aligned crop. Reasons are phrased for the pupil at the camera or the operator.
/// </summary>
public sealed class FaceQualityGate(FaceQualityOptions? options = null)
{
    public FaceQualityOptions Options { get; } = options ?? new FaceQualityOptions();

    /// <summary>Measures <paramref name="face"/> given its aligned crop as grey levels (0..255).</summary>
    public FaceQuality Assess(FaceDetection face, ReadOnlySpan<float> alignedGrey, int size)
    {
        ArgumentNullException.ThrowIfNull(face);
        var o = Options;
        var eyeDistance = face.EyeDistance;
        var ex = (face.LeftEye.X - face.RightEye.X) / Math.Max(eyeDistance, 1e-3f);
        var ey = (face.LeftEye.Y - face.RightEye.Y) / Math.Max(eyeDistance, 1e-3f);
        var midX = (face.LeftEye.X + face.RightEye.X) / 2;
        var midY = (face.LeftEye.Y + face.RightEye.Y) / 2;
        var yaw = (((face.Nose.X - midX) * ex) + ((face.Nose.Y - midY) * ey)) / Math.Max(eyeDistance, 1e-3f);
        var roll = MathF.Atan2(ey, ex) * 180 / MathF.PI;
        var sharpness = ImageOps.LaplacianVariance(alignedGrey, size, size);
        var brightness = ImageOps.Mean(alignedGrey);
        var score = face.Score * Math.Clamp(1 - (MathF.Abs(yaw) / Math.Max(o.MaxYaw, 1e-3f) * 0.5f), 0, 1);
        string? reason = null;
        var c = CultureInfo.InvariantCulture;
        if (eyeDistance < o.MinEyeDistance)
            reason = string.Format(c, "face too small (eyes {0:0} px apart, need {1:0}): come closer to the camera", eyeDistance, o.MinEyeDistance);
        else if (MathF.Abs(yaw) > o.MaxYaw)
            reason = string.Format(c, "face turned sideways (yaw {0:0.00}, limit {1:0.00}): look straight at the camera", yaw, o.MaxYaw);
        else if (MathF.Abs(roll) > o.MaxRollDegrees)
            reason = string.Format(c, "head tilted {0:0}° (limit {1:0}°): hold the head upright", roll, o.MaxRollDegrees);
        else if (sharpness < o.MinSharpness)
            reason = string.Format(c, "image blurred (sharpness {0:0}, need {1:0}): hold still, or clean and focus the camera", sharpness, o.MinSharpness);
        else if (brightness < o.MinBrightness)
            reason = string.Format(c, "face too dark (brightness {0:0}, need {1:0}): add light in front of the pupil", brightness, o.MinBrightness);
        else if (brightness > o.MaxBrightness)
            reason = string.Format(c, "face over-exposed (brightness {0:0}, limit {1:0}): reduce direct light or backlight", brightness, o.MaxBrightness);
        return new FaceQuality(eyeDistance, yaw, roll, sharpness, brightness, score, reason);
    }
}
