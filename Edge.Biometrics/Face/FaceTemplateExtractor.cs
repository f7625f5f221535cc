using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Models;
using Kezekshi.Edge.Biometrics.Onnx;

namespace Kezekshi.Edge.Biometrics.Face;

/// <summary>Which models the face pipeline uses and how; every model is named in the manifest.</summary>
public sealed record FacePipelineOptions
{
    /// <summary>models/manifest.json; null = found above the program (the repository).</summary>
    public string? ManifestPath { get; init; }

    /// <summary>Folder holding the .onnx files; null = KEZEKSHI_MODELS_PATH or the repository's .cache/models.</summary>
    public string? ModelsFolder { get; init; }

    public string DetectorModel { get; init; } = "blazeface";

    /// <summary>
    /// The face embedder. faceres (1024-D) by default: on ORL it scores rank-1 100% and TAR 98% at FAR 1e-3 fed as it
    /// was trained, where mobilefacenet (192-D) stays near 93% / 21% whatever it is fed (docs/biometrics-models.md).
    /// </summary>
    public string EmbedderModel { get; init; } = "faceres";

    /// <summary>ORT threads per model run; the gate PC has two cores.</summary>
    public int IntraOpThreads { get; init; } = 2;

    public OnnxRuntimeOptions Runtime { get; init; } = new();

    public BlazeFaceOptions Detector { get; init; } = new();

    /// <summary>How the embedder is fed and read; null = what the model was trained with (<see cref="FaceEmbedderOptions.ForModel"/>).</summary>
    public FaceEmbedderOptions? Embedder { get; init; }

    public FaceQualityOptions Quality { get; init; } = new();

    /// <summary>
    /// A calibrated embedding centre (JSON: { "model", "sha256", "values": [...] }). Null = models/&lt;embedder&gt;.centre.json
    /// next to the manifest when it exists, otherwise the embedder's own fallback (<see cref="FaceEmbedderOptions.CentreOnGrey"/>);
    /// "none" = never read a file.
    /// </summary>
    public string? CentreFile { get; init; }
}

/// <summary>How long each stage of one extraction took.</summary>
public readonly record struct FaceStageTimings(TimeSpan Detection, TimeSpan Alignment, TimeSpan Quality, TimeSpan Embedding)
{
    public TimeSpan Total => Detection + Alignment + Quality + Embedding;
}

/// <summary>An extraction with what the pipeline saw: the face, its quality, the stage timings.</summary>
public sealed record FaceExtractionTrace(TemplateExtraction Result, FaceDetection? Face, FaceQuality? Quality, int FacesFound, FaceStageTimings Timings);

/// <summary>
/// The face pipeline as an <see cref="ITemplateExtractor"/>: detection with keypoints → similarity
/// alignment onto the embedder's template → quality gate (exactly one face, size, pose, blur,
/// exposure) → embedding, L2-normalised once.
/// </summary>
public sealed class FaceTemplateExtractor : ITemplateExtractor, IDisposable
{
    private readonly IFaceDetector _detector;
    private readonly IFaceEmbedder _embedder;
    private readonly FaceQualityGate _gate;

    public FaceTemplateExtractor(IFaceDetector detector, IFaceEmbedder embedder, FaceQualityGate gate)
    {
        _detector = detector ?? throw new ArgumentNullException(nameof(detector));
        _embedder = embedder ?? throw new ArgumentNullException(nameof(embedder));
        _gate = gate ?? throw new ArgumentNullException(nameof(gate));
    }

    /// <summary>Loads ONNX Runtime and the two models named in the options, each checked against its manifest SHA-256.</summary>
    /// <exception cref="OnnxRuntimeNotFoundException">The runtime library is missing.</exception>
    /// <exception cref="ModelIntegrityException">A model is missing, tampered with, or not loadable.</exception>
    public static FaceTemplateExtractor Create(FacePipelineOptions? options = null)
    {
        options ??= new FacePipelineOptions();
        var runtime = OnnxRuntime.Load(options.Runtime);
        var manifest = ModelManifest.Load(options.ManifestPath, options.ModelsFolder);
        var sessionOptions = new OnnxSessionOptions(options.IntraOpThreads);
        var detectorSession = manifest.Open(runtime, options.DetectorModel, sessionOptions);
        OnnxSession? embedderSession = null;
        try
        {
            var detector = WrapModelErrors(options.DetectorModel, () => new BlazeFaceDetector(detectorSession, options.Detector));
            embedderSession = manifest.Open(runtime, options.EmbedderModel, sessionOptions);
            var entry = manifest[options.EmbedderModel];
            var session = embedderSession;
            var embedderOptions = options.Embedder ?? FaceEmbedderOptions.ForModel(entry.Name);
            if (embedderOptions.Centre is null && options.CentreFile != "none" && LoadCentre(options.CentreFile ?? Path.Combine(Path.GetDirectoryName(manifest.ManifestPath)!, entry.Name + ".centre.json"), entry, options.CentreFile is not null) is { } centre)
                embedderOptions = embedderOptions with { Centre = centre };
            var embedder = WrapModelErrors(options.EmbedderModel, () => new OnnxFaceEmbedder(session, $"{entry.Name}#{entry.Sha256[..12]}", embedderOptions));
            return new FaceTemplateExtractor(detector, embedder, new FaceQualityGate(options.Quality));
        }
        catch
        {
            detectorSession.Dispose();
            embedderSession?.Dispose();
            throw;
        }
    }

    /// <summary>Reads a calibrated centre; it must name the same model bytes (SHA-256) it was measured with.</summary>
    private static float[]? LoadCentre(string path, ModelEntry entry, bool required)
    {
        if (!File.Exists(path))
            return required ? throw new ModelIntegrityException($"The embedding centre file {path} does not exist.") : null;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            var sha = root.GetProperty("sha256").GetString();
            if (!string.Equals(sha, entry.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new ModelIntegrityException($"The embedding centre {path} was measured with another {entry.Name} model (SHA-256 {sha}); measure it again with the face-accuracy command (--write-centre).");
            return [.. root.GetProperty("values").EnumerateArray().Select(v => v.GetSingle())];
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new ModelIntegrityException($"The embedding centre file {path} is not valid: {e.Message}", e);
        }
    }

    private static T WrapModelErrors<T>(string name, Func<T> create)
    {
        try
        {
            return create();
        }
        catch (ArgumentException e)
        {
            throw new ModelIntegrityException($"The model {name} does not fit its role in the face pipeline: {e.Message}", e);
        }
    }

    public BiometricModality Modality => BiometricModality.Face;

    public int Dimensions => _embedder.Dimensions;

    public string ModelId => _embedder.ModelId;

    public TemplateExtraction Extract(RawImage image) => ExtractWithTrace(image).Result;

    /// <summary>As <see cref="Extract"/>, with what was found and how long each stage took.</summary>
    public FaceExtractionTrace ExtractWithTrace(RawImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels is not (1 or 3) || image.Width <= 0 || image.Height <= 0 || image.Pixels.Length < image.Width * image.Height * image.Channels)
            throw new ArgumentException($"The image is not {image.Width}×{image.Height} 8-bit grey or RGB pixels.", nameof(image));
        var started = Stopwatch.GetTimestamp();
        var faces = _detector.Detect(image);
        return ExtractFromFaces(image, faces, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Runs the detector alone (faces best first, in source pixels).</summary>
    public IReadOnlyList<FaceDetection> Detect(RawImage image) => _detector.Detect(image ?? throw new ArgumentNullException(nameof(image)));

    /// <summary>
    /// The stages after detection: exactly one face → crop → quality gate → embedding. Lets a caller that already
    /// ran the detector (or compares embedders on the same detections) skip running it again.
    /// </summary>
    public FaceExtractionTrace ExtractFromFaces(RawImage image, IReadOnlyList<FaceDetection> faces, TimeSpan detection = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(faces);
        var detected = Stopwatch.GetTimestamp();
        if (faces.Count == 0)
            return new FaceExtractionTrace(TemplateExtraction.Rejected("no face found: look at the camera"), null, null, 0, new FaceStageTimings(detection, default, default, default));
        if (faces.Count > 1)
        {
            return new FaceExtractionTrace(
                TemplateExtraction.Rejected(string.Format(CultureInfo.InvariantCulture, "{0} faces in the picture: exactly one person at a time", faces.Count)),
                faces[0], null, faces.Count, new FaceStageTimings(detection, default, default, default));
        }
        var face = faces[0];
        var size = _embedder.InputSize;
        var (scale, offset) = _embedder.InputTransform;
        var length = size * size * 3;
        var tensor = ArrayPool<float>.Shared.Rent(length);
        try
        {
            ImageOps.WarpToTensor(image, FaceAligner.CropToSource(face, size, _embedder.Crop, _embedder.BoxScale), size, size, scale, offset, tensor.AsSpan(0, length), fill: 0);
            var aligned = Stopwatch.GetTimestamp();
            var quality = _gate.Assess(face, GateCrop(image, face, tensor.AsSpan(0, length), size, scale, offset), GateCropSize);
            var assessed = Stopwatch.GetTimestamp();
            if (!quality.Accepted)
            {
                return new FaceExtractionTrace(TemplateExtraction.Rejected(quality.RejectedBecause!), face, quality, 1,
                    new FaceStageTimings(detection, Stopwatch.GetElapsedTime(detected, aligned), Stopwatch.GetElapsedTime(aligned, assessed), default));
            }
            var template = new float[_embedder.Dimensions];
            _embedder.Embed(tensor.AsMemory(0, length), template);
            var embedded = Stopwatch.GetTimestamp();
            return new FaceExtractionTrace(TemplateExtraction.Of(template, quality.Score), face, quality, 1,
                new FaceStageTimings(detection, Stopwatch.GetElapsedTime(detected, aligned), Stopwatch.GetElapsedTime(aligned, assessed), Stopwatch.GetElapsedTime(assessed, embedded)));
        }
        finally
        {
            ArrayPool<float>.Shared.Return(tensor);
        }
    }

    /// <summary>The quality gate always looks at the same 112×112 five-point-aligned crop, so its limits mean the same whatever the embedder's input.</summary>
    private const int GateCropSize = 112;

    /// <summary>
    /// Grey levels of the gate's crop: the embedder's own tensor when it already is that crop (no extra work on the
    /// default path), otherwise a separate small warp (a 224 crop of a small face is upsampled and would look blurred).
    /// </summary>
    private float[] GateCrop(RawImage image, FaceDetection face, ReadOnlySpan<float> tensor, int size, float scale, float offset)
    {
        if (_embedder.Crop == FaceCrop.Aligned && size == GateCropSize)
            return ImageOps.GreyFromTensor(tensor, size, size, scale, offset);
        var length = GateCropSize * GateCropSize * 3;
        var crop = ArrayPool<float>.Shared.Rent(length);
        try
        {
            ImageOps.WarpToTensor(image, FaceAligner.CropToSource(face, GateCropSize), GateCropSize, GateCropSize, 1, 0, crop.AsSpan(0, length), fill: 0);
            return ImageOps.GreyFromTensor(crop.AsSpan(0, length), GateCropSize, GateCropSize, 1, 0);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(crop);
        }
    }

    public void Dispose()
    {
        (_detector as IDisposable)?.Dispose();
        (_embedder as IDisposable)?.Dispose();
    }
}
