namespace Kezekshi.Edge.Biometrics.Index;

/// <summary>
/// The open-set decision rule: a face is accepted only when its best score passes
/// <see cref="AcceptThreshold"/> AND beats the best DIFFERENT pupil by <see cref="Margin"/>.
/// </summary>
/// <remarks>
/// Scores are cosine similarities (dot products of unit vectors), so they lie in [-1, 1]. The
/// defaults are those chosen for the default embedder (faceres, 0..255 input) on ORL: no impostor
/// pair reached 0.70 (max 0.684 of 75,276) and the open-set test accepted no stranger
/// (docs/biometrics-models.md). Another model needs its own values from the accuracy command.
/// </remarks>
public sealed record MatchPolicy
{
    /// <summary>The lowest score that can be accepted at all.</summary>
    public float AcceptThreshold { get; init; } = 0.70f;

    /// <summary>How far the best pupil must be ahead of the best different pupil.</summary>
    public float Margin { get; init; } = 0.05f;

    /// <summary>
    /// Two enrolled pupils whose templates score at least this much against each other are
    /// look-alikes (twins, siblings): neither is ever accepted on the face alone. Defaults to
    /// <see cref="AcceptThreshold"/> minus <see cref="Margin"/>: a pair that close could not keep the margin.
    /// </summary>
    public float? LookAlikeThreshold { get; init; }

    /// <summary>How many candidates a search returns (distinct pupils, best first).</summary>
    public int TopK { get; init; } = 5;

    /// <summary>Int8 searches re-score this many distinct pupils in float32 before deciding.</summary>
    public int RerankCandidates { get; init; } = 32;

    /// <summary>
    /// <c>Biometrics:Match:BinaryPrefilter</c> (Auto, On, Off): whether a search first narrows the
    /// gallery by the Hamming distance of centred sign codes (<see cref="SearchPrecision.Binary"/>).
    /// Auto uses it from <see cref="BinaryMinDimensions"/> and <see cref="BinaryMinTemplates"/> up,
    /// where the full int8 scan becomes memory-bound (docs/biometrics.md, "The index").
    /// </summary>
    public BinaryPrefilterMode BinaryPrefilter { get; init; } = BinaryPrefilterMode.Auto;

    /// <summary>
    /// How many templates (rows) the binary first pass hands to the int8 scores: the best estimated
    /// scores among the max(4 × this, 2,048) rows nearest in Hamming distance.
    /// </summary>
    public int BinaryCandidates { get; init; } = 512;

    /// <summary>Auto: the binary first pass is used for spaces of at least this many dimensions.</summary>
    public int BinaryMinDimensions { get; init; } = 512;

    /// <summary>
    /// Auto: … and at least this many templates in the space. Measured at 1024-D (shared 2-core
    /// Xeon): at 1,000 templates both paths take ≈ 0.15 ms; at 10,000 the binary path took 0.44 ms
    /// against 0.90 ms for the full int8 scan.
    /// </summary>
    public int BinaryMinTemplates { get; init; } = 10_000;

    /// <summary>The precision a search uses when the caller names none.</summary>
    public SearchPrecision PrecisionFor(int dimensions, int templates) => BinaryPrefilter switch
    {
        BinaryPrefilterMode.On => SearchPrecision.Binary,
        BinaryPrefilterMode.Auto when dimensions >= BinaryMinDimensions && templates >= BinaryMinTemplates => SearchPrecision.Binary,
        _ => SearchPrecision.Int8,
    };

    public float EffectiveLookAlikeThreshold => LookAlikeThreshold ?? AcceptThreshold - Margin;

    /// <summary>Throws with a message naming the setting when the policy makes no sense.</summary>
    public void Validate()
    {
        if (AcceptThreshold is <= -1f or > 1f || float.IsNaN(AcceptThreshold))
            throw new ArgumentOutOfRangeException(nameof(AcceptThreshold), AcceptThreshold, "Biometrics:Match:AcceptThreshold must be a cosine similarity in (-1, 1]; 0.70 for the default faceres embedder; run the accuracy command to choose it for another model.");
        if (Margin is < 0f or > 1f || float.IsNaN(Margin))
            throw new ArgumentOutOfRangeException(nameof(Margin), Margin, "Biometrics:Match:Margin must be between 0 and 1; 0.05-0.1 is usual.");
        if (TopK is < 1 or > 64)
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "Biometrics:Match:TopK must be between 1 and 64.");
        if (RerankCandidates is < 2 or > 1024)
            throw new ArgumentOutOfRangeException(nameof(RerankCandidates), RerankCandidates, "Biometrics:Match:RerankCandidates must be between 2 and 1024.");
        if (!Enum.IsDefined(BinaryPrefilter))
            throw new ArgumentOutOfRangeException(nameof(BinaryPrefilter), BinaryPrefilter, "Biometrics:Match:BinaryPrefilter must be Auto, On or Off.");
        if (BinaryCandidates is < 2 or > 100_000)
            throw new ArgumentOutOfRangeException(nameof(BinaryCandidates), BinaryCandidates, "Biometrics:Match:BinaryCandidates must be between 2 and 100000; 512 is the default for 50,000 faceres templates (the worst position of the right template seen on ORL data was 202).");
        if (BinaryMinDimensions < 1 || BinaryMinTemplates < 0)
            throw new ArgumentOutOfRangeException(nameof(BinaryMinDimensions), $"{BinaryMinDimensions} / {BinaryMinTemplates}", "Biometrics:Match:BinaryMinDimensions must be at least 1 and BinaryMinTemplates at least 0.");
    }
}
