using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Storage;

namespace Kezekshi.Edge.Biometrics.Identification;

/// <summary>One image identified for one purpose: the extraction (or why there is none) and the index's decision.</summary>
public sealed record Identification(TemplateExtraction Extraction, IdentifyDecision? Decision)
{
    /// <summary>A pupil was recognised with the margin and without a look-alike.</summary>
    public bool IsAccepted => Decision?.IsAccepted == true;

    /// <summary>Why nobody was recognised (or who and why a second factor is needed), in words for a log or a screen.</summary>
    public string Reason => Extraction.RejectedBecause ?? Decision?.Reason ?? "no decision";
}

/// <summary>
/// Image → template → index, for exactly one stated purpose. The gate (access), the till
/// (canteen-payment) and the library desk use this one path; the purpose mask is checked inside the
/// index, so a pupil whose parent did not consent to a purpose is never found for it.
/// </summary>
public sealed class BiometricIdentifier
{
    private readonly ITemplateExtractor _extractor;
    private readonly EmbeddingIndex _index;
    private readonly TemplateStore _store;
    private readonly TemplateSpace _space;

    public BiometricIdentifier(EmbeddingIndex index, TemplateStore store, ITemplateExtractor extractor)
    {
        _index = index ?? throw new ArgumentNullException(nameof(index));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _extractor = extractor ?? throw new ArgumentNullException(nameof(extractor));
        _space = new TemplateSpace(extractor.Modality, extractor.ModelId);
    }

    public ITemplateExtractor Extractor => _extractor;

    /// <summary>Identifies the one face (or palm) in <paramref name="image"/> for <paramref name="purpose"/>.</summary>
    public Identification Identify(RawImage image, BiometricPurpose purpose)
    {
        var extraction = _extractor.Extract(image);
        return extraction.Template is null
            ? new Identification(extraction, null)
            : new Identification(extraction, _index.Identify(extraction.Template, purpose, _space));
    }

    /// <summary>
    /// Records a decision that was acted on (the gate opened, the cashier confirmed the pupil) in the
    /// audit log and restarts the template's unused-expiry clock. Off the hot path: call it after actuating.
    /// </summary>
    public void RecordUse(IdentifyDecision decision, BiometricPurpose purpose, string actor)
    {
        ArgumentNullException.ThrowIfNull(decision);
        if (decision.PupilId is not { } pupil || decision.Candidates.Count == 0)
            return;
        var best = decision.Candidates[0];
        _store.RecordMatch(best.TemplateId, pupil, actor, purpose, best.Score);
    }
}
