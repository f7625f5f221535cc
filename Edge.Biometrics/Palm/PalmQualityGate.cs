using System.Globalization;
using Kezekshi.Edge.Biometrics.Imaging;

namespace Kezekshi.Edge.Biometrics.Palm;

/// <summary>Limits of the palm quality gate.</summary>
/// <param name="MinPresence">Smallest hand-presence probability from the landmark model.</param>
/// <param name="MinPalmLength">Smallest wrist → middle-finger-base distance in source pixels (the region is 128 px for about 1.2 palm lengths, so below ~100 px it is upsampled).</param>
/// <param name="MinSharpness">Smallest Laplacian variance of the aligned grey region (palms have less contrast than faces).</param>
/// <param name="MinBrightness">Darkest acceptable mean grey level of the region.</param>
/// <param name="MaxBrightness">Brightest acceptable mean grey level of the region.</param>
/// <param name="CheckPalmFacing">Refuse the back of the hand (from handedness and the order of the index and little-finger bases).</param>
/// <param name="MinHandednessConfidence">How far from 0.5 the handedness must be for the palm-facing check to decide; closer hands are refused as unclear.</param>
/// <param name="HandednessMirrored">True when the model's "right" label means a LEFT hand in an unmirrored camera image (MediaPipe's
/// convention: it was trained on selfie-mirrored images). NOT verified on real hand photos here; flip it if real palms are refused as "back of the hand".</param>
/// <param name="MinTextureQuality">Smallest competitive-code texture quality (how clearly palm lines were found).</param>
public sealed record PalmQualityOptions(
    float MinPresence = 0.5f,
    float MinPalmLength = 64,
    float MinSharpness = 6,
    float MinBrightness = 40,
    float MaxBrightness = 225,
    bool CheckPalmFacing = true,
    float MinHandednessConfidence = 0.2f,
    bool HandednessMirrored = true,
    float MinTextureQuality = 0.15f);

/// <summary>What the gate measured on one hand, and why it was refused (null when accepted).</summary>
public sealed record PalmQuality(float Presence, float PalmLength, bool? PalmFacing, float Sharpness, float Brightness, float Score, string? RejectedBecause)
{
    public bool Accepted => RejectedBecause is null;
}

/// <summary>
/// Decides whether a located hand is good enough to enrol or match: the model is sure it is a hand, the palm (not the
/// back) faces the camera, the palm is big enough, the region is sharp and well exposed. Reasons are phrased for the
/// pupil at the reader or the operator. The texture check comes later, with the descriptor.
/// </summary>
public sealed class PalmQualityGate(PalmQualityOptions? options = null)
{
    public PalmQualityOptions Options { get; } = options ?? new PalmQualityOptions();

    /// <summary>
    /// Whether the palm faces the camera: null when the handedness is too unsure to tell. A right hand's palm shows the
    /// index finger on the image's right (fingers up, unmirrored camera); its back shows it on the left.
    /// </summary>
    public bool? PalmFacing(HandLandmarks hand)
    {
        ArgumentNullException.ThrowIfNull(hand);
        if (MathF.Abs(hand.Handedness - 0.5f) < Options.MinHandednessConfidence)
            return null;
        var rightHand = (hand.Handedness > 0.5f) != Options.HandednessMirrored;
        return rightHand == (hand.Chirality > 0);
    }

    /// <summary>Measures <paramref name="hand"/> given its aligned region as grey levels (0..255).</summary>
    public PalmQuality Assess(HandLandmarks hand, ReadOnlySpan<float> regionGrey, int size)
    {
        ArgumentNullException.ThrowIfNull(hand);
        var o = Options;
        var length = hand.PalmLength;
        var facing = o.CheckPalmFacing ? PalmFacing(hand) : true;
        var sharpness = ImageOps.LaplacianVariance(regionGrey, size, size);
        var brightness = ImageOps.Mean(regionGrey);
        var c = CultureInfo.InvariantCulture;
        string? reason = null;
        if (hand.Presence < o.MinPresence)
            reason = string.Format(c, "no hand found (hand presence {0:0.00}, need {1:0.00}): hold one open hand, palm towards the reader", hand.Presence, o.MinPresence);
        else if (length < o.MinPalmLength)
            reason = string.Format(c, "palm too small ({0:0} px from wrist to finger base, need {1:0}): bring the hand closer to the reader", length, o.MinPalmLength);
        else if (facing is null)
            reason = "cannot tell the palm from the back of the hand: hold the hand flat, fingers up and spread, palm towards the reader";
        else if (facing == false)
            reason = "the back of the hand is towards the reader: turn the hand round so the palm faces the reader";
        else if (sharpness < o.MinSharpness)
            reason = string.Format(c, "palm image blurred (sharpness {0:0.0}, need {1:0.0}): hold the hand still, or clean and focus the camera", sharpness, o.MinSharpness);
        else if (brightness < o.MinBrightness)
            reason = string.Format(c, "palm too dark (brightness {0:0}, need {1:0}): add light at the reader", brightness, o.MinBrightness);
        else if (brightness > o.MaxBrightness)
            reason = string.Format(c, "palm over-exposed (brightness {0:0}, limit {1:0}): reduce direct light on the reader", brightness, o.MaxBrightness);
        return new PalmQuality(hand.Presence, length, facing, sharpness, brightness, hand.Presence, reason);
    }
}
