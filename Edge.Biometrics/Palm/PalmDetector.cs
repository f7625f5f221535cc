using System.Buffers;
using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Onnx;

namespace Kezekshi.Edge.Biometrics.Palm;

/// <summary>Settings of <see cref="PalmDetector"/>.</summary>
/// <param name="ScoreThreshold">Minimum sigmoid score for a palm (MediaPipe uses 0.5).</param>
/// <param name="NmsIoU">Overlap above which two detections are the same palm (blended, as MediaPipe's weighted NMS does).</param>
/// <param name="InputScale">Model input = pixel·InputScale + InputOffset. MediaPipe's palm detector and the tfjs handpose
/// code that feeds this model (@vladmandic/human's handdetector: resize, then ÷127.5 − 1) take RGB in −1..1; the manifest's
/// "pixel / 255" note is the converter's guess and is overridden here.</param>
/// <param name="InputOffset">See <paramref name="InputScale"/>.</param>
public sealed record PalmDetectorOptions(float ScoreThreshold = 0.5f, float NmsIoU = 0.3f, float InputScale = 1 / 127.5f, float InputOffset = -1);

/// <summary>
/// MediaPipe palm detection (256×256, the model tfjs handpose and @vladmandic/human call "handdetect") through ONNX
/// Runtime: letterbox, run, decode the 2,944 SSD anchors, sigmoid scores, weighted non-maximum suppression.
/// </summary>
/// <remarks>
/// <para>Anchors, derived from the output shape [1, 2944, 19]: MediaPipe's SSD anchor calculator with 5 layers at
/// strides 8, 16, 32, 32, 32, two anchors per layer and fixed anchor size, layers of equal stride merged per cell:
/// 32×32×2 (stride 8) + 16×16×2 (stride 16) + 8×8×6 (stride 32) = 2048 + 512 + 384 = 2944, centres at
/// ((x + 0.5)·stride, (y + 0.5)·stride), ordered layer, row, column, anchor.</para>
/// <para>Per anchor: [0] score logit; [1..4] box (dx, dy, w, h) in input pixels, dx/dy relative to the anchor centre;
/// [5..18] the seven keypoints (x, y) in input pixels relative to the anchor centre (x/y/w/h scale 256).</para>
/// </remarks>
public sealed class PalmDetector : IPalmDetector, IDisposable
{
    public const int InputSize = 256;

    /// <summary>Values per anchor in the model output.</summary>
    public const int Stride = 19;

    private readonly OnnxSession _session;
    private readonly PalmDetectorOptions _options;
    private readonly string _inputName;

    public PalmDetector(OnnxSession session, PalmDetectorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        _session = session;
        _options = options ?? new PalmDetectorOptions();
        _inputName = session.Inputs[0].Name;
        var shape = session.Inputs[0].Shape;
        if (shape.Length != 4 || shape[1] != InputSize || shape[2] != InputSize || shape[3] != 3)
            throw new ArgumentException($"{session.Description} is not a 256×256 palm detection model (input shape [{string.Join(",", shape)}]).", nameof(session));
        var output = session.Outputs[0].Shape;
        if (session.Outputs.Count != 1 || output.Length != 3 || output[1] != _anchors.Length || output[2] != Stride)
            throw new ArgumentException($"{session.Description} does not have the palm detector's single [1, {_anchors.Length}, {Stride}] output.", nameof(session));
    }

    /// <summary>The anchor centres in model-input pixels (see the remarks).</summary>
    public static IReadOnlyList<(float X, float Y)> AnchorCentres => _anchors;

    private static readonly (float X, float Y)[] _anchors = BuildAnchors();

    private static (float X, float Y)[] BuildAnchors()
    {
        var anchors = new List<(float, float)>(2944);
        foreach (var (stride, perCell) in new[] { (8, 2), (16, 2), (32, 6) })
        {
            var grid = InputSize / stride;
            for (var y = 0; y < grid; y++)
                for (var x = 0; x < grid; x++)
                    for (var a = 0; a < perCell; a++)
                        anchors.Add(((x + 0.5f) * stride, (y + 0.5f) * stride));
        }
        return [.. anchors];
    }

    public IReadOnlyList<PalmDetection> Detect(RawImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var toSource = ImageOps.Letterbox(image.Width, image.Height, InputSize);
        const int length = InputSize * InputSize * 3;
        var tensor = ArrayPool<float>.Shared.Rent(length);
        try
        {
            ImageOps.WarpToTensor(image, toSource, InputSize, InputSize, _options.InputScale, _options.InputOffset, tensor);
            using var outputs = _session.Run(new OnnxInput(_inputName, tensor.AsMemory(0, length), [1, InputSize, InputSize, 3]));
            return WeightedNms(Decode(outputs[0].Values, toSource, _options.ScoreThreshold), _options.NmsIoU);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(tensor);
        }
    }

    /// <summary>Turns the raw [2944 × 19] output into detections in source pixels (before suppression).</summary>
    internal static List<PalmDetection> Decode(ReadOnlySpan<float> raw, Affine inputToSource, float scoreThreshold)
    {
        if (raw.Length != _anchors.Length * Stride)
            throw new ArgumentException($"The palm detector gave {raw.Length} values; expected {_anchors.Length} × {Stride}.", nameof(raw));
        var into = new List<PalmDetection>();
        for (var i = 0; i < _anchors.Length; i++)
        {
            var r = raw.Slice(i * Stride, Stride);
            var score = 1 / (1 + MathF.Exp(-Math.Clamp(r[0], -100, 100)));
            if (score < scoreThreshold)
                continue;
            var (ax, ay) = _anchors[i];
            var (cx, cy) = inputToSource.Apply(ax + r[1], ay + r[2]);
            var keypoints = new PalmPoint[7];
            for (var k = 0; k < 7; k++)
            {
                var (kx, ky) = inputToSource.Apply(ax + r[5 + (2 * k)], ay + r[6 + (2 * k)]);
                keypoints[k] = new PalmPoint(kx, ky);
            }
            into.Add(new PalmDetection(cx, cy, r[3] * inputToSource.Scale, r[4] * inputToSource.Scale, score, keypoints));
        }
        return into;
    }

    private static float IoU(PalmDetection a, PalmDetection b)
    {
        var x1 = Math.Max(a.CentreX - (a.Width / 2), b.CentreX - (b.Width / 2));
        var y1 = Math.Max(a.CentreY - (a.Height / 2), b.CentreY - (b.Height / 2));
        var x2 = Math.Min(a.CentreX + (a.Width / 2), b.CentreX + (b.Width / 2));
        var y2 = Math.Min(a.CentreY + (a.Height / 2), b.CentreY + (b.Height / 2));
        var inter = Math.Max(0, x2 - x1) * Math.Max(0, y2 - y1);
        var union = (a.Width * a.Height) + (b.Width * b.Height) - inter;
        return union <= 0 ? 0 : inter / union;
    }

    /// <summary>Groups overlapping detections and blends each group's box and keypoints by score; best first.</summary>
    internal static List<PalmDetection> WeightedNms(List<PalmDetection> candidates, float iouThreshold)
    {
        var remaining = candidates.OrderByDescending(c => c.Score).ToList();
        var result = new List<PalmDetection>();
        while (remaining.Count > 0)
        {
            var top = remaining[0];
            var group = remaining.Where(c => IoU(top, c) > iouThreshold).ToList();
            remaining.RemoveAll(group.Contains);
            var total = group.Sum(g => g.Score);
            float Blend(Func<PalmDetection, float> f) => group.Sum(g => f(g) * g.Score) / total;
            var keypoints = new PalmPoint[7];
            for (var k = 0; k < 7; k++)
            {
                var index = k;
                keypoints[k] = new PalmPoint(Blend(g => g.Keypoints[index].X), Blend(g => g.Keypoints[index].Y));
            }
            result.Add(new PalmDetection(Blend(g => g.CentreX), Blend(g => g.CentreY), Blend(g => g.Width), Blend(g => g.Height), top.Score, keypoints));
        }
        return result;
    }

    public void Dispose() => _session.Dispose();
}
