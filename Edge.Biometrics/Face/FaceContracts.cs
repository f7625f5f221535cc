namespace Kezekshi.Edge.Biometrics.Face;

/// <summary>A point in source-image pixels.</summary>
public readonly record struct FacePoint(float X, float Y);

/// <summary>
/// One detected face in source-image pixels: box, score and the six BlazeFace keypoints in MediaPipe's
/// order (subject's right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion).
/// </summary>
public sealed record FaceDetection(float Left, float Top, float Width, float Height, float Score, FacePoint[] Keypoints)
{
    public FacePoint RightEye => Keypoints[0];

    public FacePoint LeftEye => Keypoints[1];

    public FacePoint Nose => Keypoints[2];

    public FacePoint Mouth => Keypoints[3];

    /// <summary>Distance between the eyes in source pixels: the face size the quality gate checks.</summary>
    public float EyeDistance => MathF.Sqrt(MathF.Pow(LeftEye.X - RightEye.X, 2) + MathF.Pow(LeftEye.Y - RightEye.Y, 2));
}

/// <summary>Finds faces with keypoints.</summary>
public interface IFaceDetector
{
    /// <summary>Faces above the detector's score threshold, best first.</summary>
    IReadOnlyList<FaceDetection> Detect(RawImage image);
}

/// <summary>How the face is cut out of the image for the embedder: the layout the model was trained on.</summary>
public enum FaceCrop
{
    /// <summary>
    /// Similarity transform from the eyes, nose and mouth centre onto the ArcFace/InsightFace 112×112 five-point
    /// template (scaled to the model's input size): the layout of MobileFaceNet/ArcFace training sets (MS1M).
    /// </summary>
    Aligned,

    /// <summary>
    /// The detector's box, enlarged by <see cref="FaceEmbedderOptions.BoxScale"/>, made square on its centre, axis-aligned
    /// and resized to the input: the crop @vladmandic/human feeds its descriptor models (BlazeFace box × 1.4, no rotation).
    /// </summary>
    Box,

    /// <summary>As <see cref="Box"/>, turned about the box centre so the eye line is level (roll corrected).</summary>
    UprightBox,
}

/// <summary>Turns an aligned face crop (NHWC float tensor, the embedder's input size) into an embedding.</summary>
public interface IFaceEmbedder
{
    /// <summary>Side of the square aligned crop the model expects (112 for MobileFaceNet/ArcFace).</summary>
    int InputSize { get; }

    int Dimensions { get; }

    /// <summary>Model name and manifest hash prefix, stored with each template.</summary>
    string ModelId { get; }

    /// <summary>How pixels (0..255) map to model input: value = pixel·Scale + Offset.</summary>
    (float Scale, float Offset) InputTransform { get; }

    /// <summary>How the face is cut out for this model; the extractor warps the crop straight into the input tensor.</summary>
    FaceCrop Crop => FaceCrop.Aligned;

    /// <summary>For the box crops: the side of the square crop as a multiple of the detector box's larger side.</summary>
    float BoxScale => 1.4f;

    /// <summary>Writes the embedding, L2-normalised, into <paramref name="template"/>.</summary>
    void Embed(ReadOnlyMemory<float> alignedTensor, Span<float> template);
}
