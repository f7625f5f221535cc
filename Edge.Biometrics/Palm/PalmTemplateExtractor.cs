using System.Diagnostics;
using System.Globalization;
using Kezekshi.Edge.Biometrics.Models;
using Kezekshi.Edge.Biometrics.Onnx;

namespace Kezekshi.Edge.Biometrics.Palm;

/// <summary>Which models the palm pipeline uses and how; every model is named in the manifest.</summary>
public sealed record PalmPipelineOptions
{
    /// <summary>models/manifest.json; null = found above the program (the repository).</summary>
    public string? ManifestPath { get; init; }

    /// <summary>Folder holding the .onnx files; null = KEZEKSHI_MODELS_PATH or the repository's .cache/models.</summary>
    public string? ModelsFolder { get; init; }

    public string DetectorModel { get; init; } = "handdetect";

    /// <summary>handlandmark-lite is the one the set-up converts; handlandmark-full works the same once added to the manifest.</summary>
    public string LandmarkModel { get; init; } = "handlandmark-lite";

    /// <summary>ORT threads per model run; the gate PC has two cores.</summary>
    public int IntraOpThreads { get; init; } = 2;

    public OnnxRuntimeOptions Runtime { get; init; } = new();

    public PalmDetectorOptions Detector { get; init; } = new();

    public HandLandmarkerOptions Landmarker { get; init; } = new();

    public PalmQualityOptions Quality { get; init; } = new();
}

/// <summary>How long each stage of one palm extraction took.</summary>
public readonly record struct PalmStageTimings(TimeSpan Detection, TimeSpan Landmarks, TimeSpan Alignment, TimeSpan Descriptor)
{
    public TimeSpan Total => Detection + Landmarks + Alignment + Descriptor;
}

/// <summary>An extraction with what the pipeline saw: the palm, its landmarks, the quality, the aligned region, the timings.</summary>
public sealed record PalmExtractionTrace(
    TemplateExtraction Result, PalmDetection? Palm, HandLandmarks? Hand, PalmQuality? Quality, float[]? Region, int PalmsFound, PalmStageTimings Timings);

/// <summary>
/// The palm pipeline as an <see cref="ITemplateExtractor"/>: MediaPipe palm detection → hand landmarks on the rotated,
/// enlarged crop → the palm region aligned from the landmarks (128×128 grey) → quality gate (exactly one hand, palm
/// towards the camera, size, blur, exposure) → competitive-code descriptor, L2-normalised. Templates go through the
/// same index and consent rules as faces (<see cref="BiometricModality.Palm"/>).
/// </summary>
public sealed class PalmTemplateExtractor : ITemplateExtractor, IDisposable
{
    private readonly IPalmDetector _detector;
    private readonly IHandLandmarker _landmarker;
    private readonly PalmQualityGate _gate;
    private readonly CompetitiveCodeDescriptor _descriptor;

    public PalmTemplateExtractor(IPalmDetector detector, IHandLandmarker landmarker, PalmQualityGate gate, string modelId, CompetitiveCodeDescriptor? descriptor = null)
    {
        _detector = detector ?? throw new ArgumentNullException(nameof(detector));
        _landmarker = landmarker ?? throw new ArgumentNullException(nameof(landmarker));
        _gate = gate ?? throw new ArgumentNullException(nameof(gate));
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        ModelId = modelId;
        _descriptor = descriptor ?? new CompetitiveCodeDescriptor(PalmAligner.RegionSize);
    }

    /// <summary>Loads ONNX Runtime and the two hand models named in the options, each checked against its manifest SHA-256.</summary>
    /// <exception cref="OnnxRuntimeNotFoundException">The runtime library is missing.</exception>
    /// <exception cref="ModelIntegrityException">A model is missing, tampered with, or not loadable.</exception>
    public static PalmTemplateExtractor Create(PalmPipelineOptions? options = null)
    {
        options ??= new PalmPipelineOptions();
        var runtime = OnnxRuntime.Load(options.Runtime);
        var manifest = ModelManifest.Load(options.ManifestPath, options.ModelsFolder);
        var sessionOptions = new OnnxSessionOptions(options.IntraOpThreads);
        var detectorSession = manifest.Open(runtime, options.DetectorModel, sessionOptions);
        OnnxSession? landmarkSession = null;
        try
        {
            var detector = WrapModelErrors(options.DetectorModel, () => new PalmDetector(detectorSession, options.Detector));
            landmarkSession = manifest.Open(runtime, options.LandmarkModel, sessionOptions);
            var session = landmarkSession;
            var landmarker = WrapModelErrors(options.LandmarkModel, () => new HandLandmarker(session, options.Landmarker));
            // The template depends on the descriptor and on where the region comes from (detector + landmarks), so all three name it.
            var modelId = $"{CompetitiveCodeDescriptor.ModelId}+{options.DetectorModel}+{options.LandmarkModel}#{manifest[options.LandmarkModel].Sha256[..12]}";
            return new PalmTemplateExtractor(detector, landmarker, new PalmQualityGate(options.Quality), modelId);
        }
        catch
        {
            detectorSession.Dispose();
            landmarkSession?.Dispose();
            throw;
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
            throw new ModelIntegrityException($"The model {name} does not fit its role in the palm pipeline: {e.Message}", e);
        }
    }

    public BiometricModality Modality => BiometricModality.Palm;

    public int Dimensions => _descriptor.Dimensions;

    public string ModelId { get; }

    public TemplateExtraction Extract(RawImage image) => ExtractWithTrace(image).Result;

    /// <summary>As <see cref="Extract"/>, with what was found and how long each stage took.</summary>
    public PalmExtractionTrace ExtractWithTrace(RawImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels is not (1 or 3) || image.Width <= 0 || image.Height <= 0 || image.Pixels.Length < image.Width * image.Height * image.Channels)
            throw new ArgumentException($"The image is not {image.Width}×{image.Height} 8-bit grey or RGB pixels.", nameof(image));
        var started = Stopwatch.GetTimestamp();
        var palms = _detector.Detect(image);
        var detected = Stopwatch.GetTimestamp();
        var detection = Stopwatch.GetElapsedTime(started, detected);
        if (palms.Count == 0)
            return new PalmExtractionTrace(TemplateExtraction.Rejected("no hand found: hold one open hand, palm towards the reader"), null, null, null, null, 0, new PalmStageTimings(detection, default, default, default));
        if (palms.Count > 1)
        {
            return new PalmExtractionTrace(
                TemplateExtraction.Rejected(string.Format(CultureInfo.InvariantCulture, "{0} hands in the picture: show exactly one hand", palms.Count)),
                palms[0], null, null, null, palms.Count, new PalmStageTimings(detection, default, default, default));
        }
        var palm = palms[0];
        var hand = _landmarker.Locate(image, palm);
        var located = Stopwatch.GetTimestamp();
        var trace = ExtractFromLandmarks(image, hand) with { Palm = palm, PalmsFound = 1 };
        return trace with { Timings = trace.Timings with { Detection = detection, Landmarks = Stopwatch.GetElapsedTime(detected, located) } };
    }

    /// <summary>
    /// The stages after the models: alignment from given landmarks, quality gate, descriptor. Used by
    /// <see cref="ExtractWithTrace"/>, and by tests and tools that already have landmarks.
    /// </summary>
    public PalmExtractionTrace ExtractFromLandmarks(RawImage image, HandLandmarks hand)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(hand);
        var started = Stopwatch.GetTimestamp();
        const int size = PalmAligner.RegionSize;
        var region = PalmAligner.Align(image, hand, size);
        var aligned = Stopwatch.GetTimestamp();
        var quality = _gate.Assess(hand, region, size);
        if (!quality.Accepted)
        {
            return new PalmExtractionTrace(TemplateExtraction.Rejected(quality.RejectedBecause!), null, hand, quality, region, 0,
                new PalmStageTimings(default, default, Stopwatch.GetElapsedTime(started, aligned), default));
        }
        var pixels = new byte[size * size];
        for (var i = 0; i < pixels.Length; i++)
            pixels[i] = (byte)Math.Clamp(MathF.Round(region[i]), 0, 255);
        var (template, texture) = _descriptor.Describe(new RawImage(size, size, 1, pixels));
        var described = Stopwatch.GetTimestamp();
        var timings = new PalmStageTimings(default, default, Stopwatch.GetElapsedTime(started, aligned), Stopwatch.GetElapsedTime(aligned, described));
        if (texture < _gate.Options.MinTextureQuality)
        {
            var reason = string.Format(CultureInfo.InvariantCulture,
                "palm lines too faint (texture {0:0.00}, need {1:0.00}): hold the palm flat and open, closer to the reader, in even light", texture, _gate.Options.MinTextureQuality);
            return new PalmExtractionTrace(new TemplateExtraction(null, texture, reason), null, hand, quality with { RejectedBecause = reason }, region, 0, timings);
        }
        return new PalmExtractionTrace(TemplateExtraction.Of(template, quality.Score * texture), null, hand, quality, region, 0, timings);
    }

    public void Dispose()
    {
        (_detector as IDisposable)?.Dispose();
        (_landmarker as IDisposable)?.Dispose();
    }
}
