namespace Kezekshi.Edge.Biometrics.Index;

/// <summary>
/// One enrolled template as the index holds it: who it belongs to, what made it, and the
/// L2-normalised vector (normalised once, when it was made; matching is then a dot product).
/// </summary>
public sealed record IndexedTemplate(long TemplateId, long PupilId, BiometricModality Modality, string ModelId, float[] Vector);

/// <summary>Which templates a search compares against: one modality from one model, never a mix.</summary>
/// <remarks>Templates from different models live in different vector spaces, so their scores mean nothing to each other.</remarks>
public readonly record struct TemplateSpace(BiometricModality Modality, string ModelId);

/// <summary>How the index scores candidates.</summary>
public enum SearchPrecision
{
    /// <summary>Exact float32 dot products over every template.</summary>
    Float32,

    /// <summary>Int8 dot products (per-vector scale) over every template, then a float32 re-rank of the best candidates.</summary>
    Int8,
}
