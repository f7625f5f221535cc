using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Enrolment;
using Kezekshi.Edge.Biometrics.Face;
using Kezekshi.Edge.Biometrics.Identification;
using Kezekshi.Edge.Biometrics.Models;
using Kezekshi.Edge.Biometrics.Onnx;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Recognition;

/// <summary>
/// The agent's face pipeline: ONNX Runtime and the models from the manifest (configuration section
/// <c>Biometrics:Face</c>), loaded once, at start. When the runtime or a model is missing or has been
/// tampered with, face recognition is unavailable with one clear reason and everything else — the
/// card path first of all — works exactly as before.
/// </summary>
public sealed class FaceRecognition : IDisposable
{
    public const string Section = "Biometrics:Face";

    private readonly BiometricsModule _module;
    private readonly Func<ITemplateExtractor> _createExtractor;
    private readonly Lock _gate = new();
    private BiometricIdentifier? _identifier;
    private string? _problem;

    public FaceRecognition(BiometricsModule module, FacePipelineOptions options)
        : this(module, () => FaceTemplateExtractor.Create(options))
    {
    }

    /// <summary>For tests and other extractors (a palm pipeline, a commercially licensed model).</summary>
    public FaceRecognition(BiometricsModule module, Func<ITemplateExtractor> createExtractor)
    {
        _module = module ?? throw new ArgumentNullException(nameof(module));
        _createExtractor = createExtractor ?? throw new ArgumentNullException(nameof(createExtractor));
    }

    public BiometricsModule Module => _module;

    /// <summary>Why face recognition is unavailable (null once loaded, or before the first attempt).</summary>
    public string? Problem { get { lock (_gate) return _problem; } }

    /// <summary>Loads the pipeline if it is not loaded yet; false with <paramref name="problem"/> saying what to fix.</summary>
    public bool TryGetIdentifier(out BiometricIdentifier identifier, out string problem)
    {
        lock (_gate)
        {
            if (_identifier is null && _problem is null)
            {
                try
                {
                    _identifier = _module.Identifier(new OneAtATime(_createExtractor()));
                }
                catch (Exception e) when (e is OnnxRuntimeNotFoundException or ModelIntegrityException or OnnxRuntimeException or IOException)
                {
                    _problem = $"face recognition is unavailable: {e.Message} Cards and PINs keep working.";
                }
            }
            identifier = _identifier!;
            problem = _problem ?? "";
            return _identifier is not null;
        }
    }

    /// <summary>Enrolment through the same extractor the gate and the till use (templates from one model only).</summary>
    public EnrolmentService Enrolment() =>
        TryGetIdentifier(out var identifier, out var problem)
            ? _module.Enrolment(identifier.Extractor)
            : throw new InvalidOperationException(problem);

    public void Dispose()
    {
        lock (_gate)
            (_identifier?.Extractor as IDisposable)?.Dispose();
    }
}

/// <summary>
/// The ONNX sessions and pooled tensors behind one extractor are not safe to use from two threads at
/// once, and the gate cameras, the till and enrolment share one. Extractions take turns; on two cores
/// ORT already uses both for one extraction, so turns cost nothing in throughput.
/// </summary>
internal sealed class OneAtATime(ITemplateExtractor inner) : ITemplateExtractor, IDisposable
{
    private readonly Lock _turn = new();

    public BiometricModality Modality => inner.Modality;
    public int Dimensions => inner.Dimensions;
    public string ModelId => inner.ModelId;

    public TemplateExtraction Extract(RawImage image)
    {
        lock (_turn)
            return inner.Extract(image);
    }

    public void Dispose()
    {
        lock (_turn)
            (inner as IDisposable)?.Dispose();
    }
}

/// <summary>Loads the face pipeline when the agent starts, so a missing model is in the log at 7:45, not at the first face.</summary>
public sealed partial class FaceRecognitionWarmUp(FaceRecognition recognition, ILogger<FaceRecognitionWarmUp> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (recognition.TryGetIdentifier(out var identifier, out var problem))
        {
            Loaded(logger, identifier.Extractor.ModelId, identifier.Extractor.Dimensions, recognition.Module.Index.Count);
            // The search code compiled optimised before the first pupil, on a background thread: start-up is not held.
            _ = Task.Run(() => WarmSearch(recognition.Module.Index), CancellationToken.None);
        }
        else
        {
            Unavailable(logger, problem);
        }
        return Task.CompletedTask;
    }

    private void WarmSearch(Kezekshi.Edge.Biometrics.Index.EmbeddingIndex index)
    {
        try
        {
            index.WarmUp();
        }
        catch (Exception e)
        {
            // Only speed is at stake: the first searches run slower, nothing else changes.
            WarmUpFailed(logger, e);
        }
    }

    [LoggerMessage(EventId = 2065, Level = LogLevel.Warning, Message = "Warming up the face search failed; the first faces of the morning may take a little longer to decide.")]
    private static partial void WarmUpFailed(ILogger logger, Exception exception);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 2060, Level = LogLevel.Information, Message = "Face recognition ready: model {ModelId} ({Dimensions}-D), {Templates} template(s) in the index.")]
    private static partial void Loaded(ILogger logger, string modelId, int dimensions, int templates);

    [LoggerMessage(EventId = 2061, Level = LogLevel.Error, Message = "{Problem} Run `kezekshi-edge doctor` and `tools/setup.sh` (it installs ONNX Runtime and converts the models), or set Biometrics:Face:ModelsFolder.")]
    private static partial void Unavailable(ILogger logger, string problem);
}
