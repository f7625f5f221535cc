using Kezekshi.Edge.Biometrics.Imaging;

namespace Kezekshi.Edge.Biometrics.Face;

/// <summary>
/// Warps a detected face onto the embedder's template: a similarity transform (rotation, scale,
/// translation) from the eyes, nose and mouth centre onto the ArcFace 112×112 reference points, the
/// layout MobileFaceNet and ArcFace-style embedders were trained on.
/// </summary>
public static class FaceAligner
{
    /// <summary>
    /// ArcFace/InsightFace 112×112 reference points in image coordinates: image-left eye, image-right eye,
    /// nose tip, and the mouth centre (the mean of the two mouth corners, as BlazeFace gives only the centre).
    /// </summary>
    private static readonly (float X, float Y)[] _template112 =
    [
        (38.2946f, 51.6963f),
        (73.5318f, 51.5014f),
        (56.0252f, 71.7366f),
        (56.1396f, 92.2848f),
    ];

    /// <summary>The transform from aligned-crop pixels back to source pixels, for a crop of side <paramref name="size"/>.</summary>
    public static Affine CropToSource(FaceDetection face, int size = 112)
    {
        ArgumentNullException.ThrowIfNull(face);
        var scale = size / 112f;
        Span<(float X, float Y)> target = stackalloc (float, float)[4];
        for (var i = 0; i < 4; i++)
            target[i] = (_template112[i].X * scale, _template112[i].Y * scale);
        // BlazeFace's first keypoint is the subject's right eye, which is the image-left eye.
        ReadOnlySpan<(float X, float Y)> source =
        [
            (face.RightEye.X, face.RightEye.Y),
            (face.LeftEye.X, face.LeftEye.Y),
            (face.Nose.X, face.Nose.Y),
            (face.Mouth.X, face.Mouth.Y),
        ];
        return ImageOps.Similarity(source, target).Inverse();
    }

    /// <summary>
    /// The transform from crop pixels back to source pixels for any <see cref="FaceCrop"/>: the five-point alignment,
    /// or the detector box enlarged by <paramref name="boxScale"/> and made square on its centre (optionally turned so
    /// the eye line is level).
    /// </summary>
    public static Affine CropToSource(FaceDetection face, int size, FaceCrop crop, float boxScale = 1.4f)
    {
        ArgumentNullException.ThrowIfNull(face);
        if (crop == FaceCrop.Aligned)
            return CropToSource(face, size);
        var cx = face.Left + (face.Width / 2);
        var cy = face.Top + (face.Height / 2);
        var s = Math.Max(face.Width, face.Height) * boxScale / size;
        var (cos, sin) = (1f, 0f);
        if (crop == FaceCrop.UprightBox)
        {
            // The eye line's angle in the image; turning the sampling grid by it levels the eyes in the crop.
            var angle = MathF.Atan2(face.LeftEye.Y - face.RightEye.Y, face.LeftEye.X - face.RightEye.X);
            (cos, sin) = (MathF.Cos(angle), MathF.Sin(angle));
        }
        // source = centre + s·R·(crop − size/2), sampling at pixel centres.
        var half = size / 2f;
        var m00 = s * cos;
        var m01 = -s * sin;
        var m10 = s * sin;
        var m11 = s * cos;
        return new Affine(m00, m01, cx - ((m00 * half) + (m01 * half)), m10, m11, cy - ((m10 * half) + (m11 * half)));
    }

    /// <summary>Writes the aligned crop as an NHWC tensor of size×size×3 with value = pixel·scale + offset.</summary>
    public static void Align(RawImage image, FaceDetection face, int size, float scale, float offset, Span<float> tensor) =>
        ImageOps.WarpToTensor(image, CropToSource(face, size), size, size, scale, offset, tensor, fill: 0);
}
