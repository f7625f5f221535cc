namespace Kezekshi.Edge.Biometrics.Index;

/// <summary>
/// One enrolled template as the index holds it: who it belongs to, what made it, and the
/// L2-normalised vector (normalised once, when it was made; matching is then a dot product).
/// </summary>
/// <remarks>The index keeps <see cref="Vector"/> itself rather than a copy (a 50,000-template load would
/// otherwise copy 200 MB): never change the array after handing the template over.</remarks>
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

    /// <summary>
    /// Two stages: Hamming distance between centred sign codes over every template, int8 dot products
    /// over the <see cref="MatchPolicy.BinaryCandidates"/> nearest, then the same float32 re-rank.
    /// For large galleries of high-dimensional templates (see <see cref="MatchPolicy.BinaryPrefilter"/>).
    /// </summary>
    Binary,
}

/// <summary>When an identify call that names no precision uses the binary first pass.</summary>
public enum BinaryPrefilterMode
{
    /// <summary>When the space has at least <see cref="MatchPolicy.BinaryMinDimensions"/> dimensions and <see cref="MatchPolicy.BinaryMinTemplates"/> templates.</summary>
    Auto,

    /// <summary>Always (every gallery size and dimension).</summary>
    On,

    /// <summary>Never: always the full int8 scan.</summary>
    Off,
}
