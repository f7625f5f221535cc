using System.Buffers;
using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Onnx;

namespace Kezekshi.Edge.Biometrics.Face;

/// <summary>Settings of <see cref="BlazeFaceDetector"/>.</summary>
/// <param name="ScoreThreshold">Minimum sigmoid score for a face.</param>
/// <param name="NmsIoU">Overlap above which two detections are the same face (blended, as MediaPipe's weighted NMS does).</param>
public sealed record BlazeFaceOptions(float ScoreThreshold = 0.6f, float NmsIoU = 0.3f);

/// <summary>
/// MediaPipe BlazeFace (back-camera model, 256×256) through ONNX Runtime: letterbox, run, decode the 896
/// anchors (16×16×2 at stride 16, 8×8×6 at stride 32), sigmoid scores, weighted non-maximum suppression.
/// </summary>
/// <remarks>
/// Output layout per anchor: (dx, dy, w, h) then six (x, y) keypoints, in input pixels relative to the
/// anchor centre (MediaPipe's face_detection_back calculator options: x/y/w/h scale 256, anchor offset 0.5).
/// </remarks>
public sealed class BlazeFaceDetector : IFaceDetector, IDisposable
{
    public const int InputSize = 256;

    private static readonly (float X, float Y)[] _anchors = BuildAnchors();

    private readonly OnnxSession _session;
    private readonly BlazeFaceOptions _options;
    private readonly string _inputName;

    public BlazeFaceDetector(OnnxSession session, BlazeFaceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        _session = session;
        _options = options ?? new BlazeFaceOptions();
        _inputName = session.Inputs[0].Name;
        var shape = session.Inputs[0].Shape;
        if (shape.Length != 4 || shape[1] != InputSize || shape[2] != InputSize || shape[3] != 3)
            throw new ArgumentException($"{session.Description} is not a 256×256 BlazeFace model (input shape [{string.Join(",", shape)}]).", nameof(session));
        var names = session.Outputs.Select(o => o.Name).ToHashSet();
        if (!names.SetEquals(["Identity", "Identity_1", "Identity_2", "Identity_3"]))
            throw new ArgumentException($"{session.Description} does not have BlazeFace's four outputs.", nameof(session));
    }

    private static (float X, float Y)[] BuildAnchors()
    {
        var anchors = new List<(float, float)>(896);
        foreach (var (grid, stride, perCell) in new[] { (16, 16, 2), (8, 32, 6) })
        {
            for (var y = 0; y < grid; y++)
                for (var x = 0; x < grid; x++)
                    for (var a = 0; a < perCell; a++)
                        anchors.Add(((x + 0.5f) * stride, (y + 0.5f) * stride));
        }
        return [.. anchors];
    }

    public IReadOnlyList<FaceDetection> Detect(RawImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var toSource = ImageOps.Letterbox(image.Width, image.Height, InputSize);
        var tensor = ArrayPool<float>.Shared.Rent(InputSize * InputSize * 3);
        try
        {
            // MediaPipe's BlazeFace takes RGB in -1..1; the letterbox border is black.
            ImageOps.WarpToTensor(image, toSource, InputSize, InputSize, 1 / 127.5f, -1, tensor);
            using var outputs = _session.Run(new OnnxInput(_inputName, tensor.AsMemory(0, InputSize * InputSize * 3), [1, InputSize, InputSize, 3]));
            var candidates = new List<FaceDetection>();
            Decode(outputs["Identity"].Values, outputs["Identity_2"].Values, 0, toSource, candidates);
            Decode(outputs["Identity_1"].Values, outputs["Identity_3"].Values, 512, toSource, candidates);
            return WeightedNms(candidates, _options.NmsIoU);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(tensor);
        }
    }

    private void Decode(ReadOnlySpan<float> scores, ReadOnlySpan<float> boxes, int anchorOffset, Affine toSource, List<FaceDetection> into)
    {
        for (var i = 0; i < scores.Length; i++)
        {
            var score = 1 / (1 + MathF.Exp(-Math.Clamp(scores[i], -100, 100)));
            if (score < _options.ScoreThreshold)
                continue;
            var (ax, ay) = _anchors[anchorOffset + i];
            var r = boxes.Slice(i * 16, 16);
            var (cx, cy) = toSource.Apply(ax + r[0], ay + r[1]);
            var w = r[2] * toSource.Scale;
            var h = r[3] * toSource.Scale;
            var keypoints = new FacePoint[6];
            for (var k = 0; k < 6; k++)
            {
                var (kx, ky) = toSource.Apply(ax + r[4 + (2 * k)], ay + r[5 + (2 * k)]);
                keypoints[k] = new FacePoint(kx, ky);
            }
            into.Add(new FaceDetection(cx - (w / 2), cy - (h / 2), w, h, score, keypoints));
        }
    }

    private static float IoU(FaceDetection a, FaceDetection b)
    {
        var x1 = Math.Max(a.Left, b.Left);
        var y1 = Math.Max(a.Top, b.Top);
        var x2 = Math.Min(a.Left + a.Width, b.Left + b.Width);
        var y2 = Math.Min(a.Top + a.Height, b.Top + b.Height);
        var inter = Math.Max(0, x2 - x1) * Math.Max(0, y2 - y1);
        var union = (a.Width * a.Height) + (b.Width * b.Height) - inter;
        return union <= 0 ? 0 : inter / union;
    }

    /// <summary>Groups overlapping detections and blends each group's box and keypoints by score.</summary>
    internal static List<FaceDetection> WeightedNms(List<FaceDetection> candidates, float iouThreshold)
    {
        var remaining = candidates.OrderByDescending(c => c.Score).ToList();
        var result = new List<FaceDetection>();
        while (remaining.Count > 0)
        {
            var top = remaining[0];
            var group = remaining.Where(c => IoU(top, c) > iouThreshold).ToList();
            remaining.RemoveAll(group.Contains);
            var total = group.Sum(g => g.Score);
            float Blend(Func<FaceDetection, float> f) => group.Sum(g => f(g) * g.Score) / total;
            var keypoints = new FacePoint[6];
            for (var k = 0; k < 6; k++)
            {
                var index = k;
                keypoints[k] = new FacePoint(Blend(g => g.Keypoints[index].X), Blend(g => g.Keypoints[index].Y));
            }
            result.Add(new FaceDetection(Blend(g => g.Left), Blend(g => g.Top), Blend(g => g.Width), Blend(g => g.Height), top.Score, keypoints));
        }
        return result;
    }

    public void Dispose() => _session.Dispose();
}
