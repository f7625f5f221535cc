using System.Buffers;
using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Onnx;

namespace Kezekshi.Edge.Biometrics.Palm;

/// <summary>Settings of <see cref="HandLandmarker"/>.</summary>
/// <param name="BoxScale">How much the palm box is enlarged to take in the whole hand (MediaPipe: 2.6).</param>
/// <param name="ShiftY">Shift of the crop centre towards the fingers, in palm-box heights (MediaPipe: −0.5).</param>
public sealed record HandLandmarkerOptions(float BoxScale = 2.6f, float ShiftY = -0.5f);

/// <summary>
/// MediaPipe hand landmarks (handlandmark-lite/full, 224×224, RGB 0..1) through ONNX Runtime, on the crop MediaPipe
/// uses: the palm box rotated so the fingers point up (wrist → middle-finger keypoints), shifted towards the fingers,
/// squared on its long side and enlarged 2.6×. The 21 points are mapped back into source pixels.
/// </summary>
public sealed class HandLandmarker : IHandLandmarker, IDisposable
{
    private readonly OnnxSession _session;
    private readonly HandLandmarkerOptions _options;
    private readonly string _inputName;
    private readonly int _size;

    public HandLandmarker(OnnxSession session, HandLandmarkerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        _session = session;
        _options = options ?? new HandLandmarkerOptions();
        _inputName = session.Inputs[0].Name;
        var shape = session.Inputs[0].Shape;
        if (shape.Length != 4 || shape[1] != shape[2] || shape[1] <= 0 || shape[3] != 3)
            throw new ArgumentException($"{session.Description} is not a square RGB hand landmark model (input shape [{string.Join(",", shape)}]).", nameof(session));
        _size = (int)shape[1];
        var names = session.Outputs.Select(o => o.Name).ToHashSet();
        if (!names.IsSupersetOf(["Identity", "Identity_1", "Identity_2"]))
            throw new ArgumentException($"{session.Description} does not have the hand landmark outputs (Identity: 63 landmarks, Identity_1: presence, Identity_2: handedness).", nameof(session));
    }

    /// <summary>Side of the model's square input (224 for MediaPipe's models).</summary>
    public int InputSize => _size;

    /// <summary>The crop → source transform for <paramref name="palm"/> at a crop of <paramref name="size"/> pixels.</summary>
    public static Affine CropToSource(PalmDetection palm, int size, HandLandmarkerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(palm);
        options ??= new HandLandmarkerOptions();
        var rotation = palm.Rotation;
        var (sin, cos) = MathF.SinCos(rotation);
        // The shift is along the crop's own y axis (−sin, cos): towards the fingers for a negative ShiftY.
        var shift = options.ShiftY * palm.Height;
        var cx = palm.CentreX - (sin * shift);
        var cy = palm.CentreY + (cos * shift);
        var side = Math.Max(palm.Width, palm.Height) * options.BoxScale;
        return ImageOps.RotatedCrop(cx, cy, side, rotation, size);
    }

    public HandLandmarks Locate(RawImage image, PalmDetection palm)
    {
        ArgumentNullException.ThrowIfNull(image);
        var toSource = CropToSource(palm, _size, _options);
        var length = _size * _size * 3;
        var tensor = ArrayPool<float>.Shared.Rent(length);
        try
        {
            ImageOps.WarpToTensor(image, toSource, _size, _size, 1 / 255f, 0, tensor);
            using var outputs = _session.Run(new OnnxInput(_inputName, tensor.AsMemory(0, length), [1, _size, _size, 3]));
            return FromOutputs(outputs["Identity"].Values, outputs["Identity_1"].Values[0], outputs["Identity_2"].Values[0], toSource);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(tensor);
        }
    }

    /// <summary>
    /// Maps the model's landmarks (x, y, z in crop pixels) to source pixels. Presence and handedness arrive as
    /// probabilities: the converted models end with MediaPipe's sigmoid (measured: 0.001–0.014 on blank and grey crops).
    /// </summary>
    internal static HandLandmarks FromOutputs(ReadOnlySpan<float> landmarks, float presence, float handedness, Affine cropToSource)
    {
        if (landmarks.Length < HandLandmarks.Count * 3)
            throw new ArgumentException($"The hand landmark model gave {landmarks.Length} values; expected {HandLandmarks.Count * 3}.", nameof(landmarks));
        var points = new PalmPoint[HandLandmarks.Count];
        for (var i = 0; i < points.Length; i++)
        {
            var (x, y) = cropToSource.Apply(landmarks[i * 3], landmarks[(i * 3) + 1]);
            points[i] = new PalmPoint(x, y);
        }
        return new HandLandmarks(points, Math.Clamp(presence, 0, 1), Math.Clamp(handedness, 0, 1));
    }

    public void Dispose() => _session.Dispose();
}
