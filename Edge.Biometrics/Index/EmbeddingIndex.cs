using System.Numerics.Tensors;

namespace Kezekshi.Edge.Biometrics.Index;

/// <summary>A pair of enrolled pupils whose templates are too close to tell apart by face alone (twins, siblings).</summary>
public readonly record struct LookAlikePair(long PupilA, long PupilB, float Score)
{
    /// <summary>The same pair with the smaller id first, so a pair is stored once.</summary>
    public LookAlikePair Normalised() => PupilA <= PupilB ? this : new(PupilB, PupilA, Score);
}

/// <summary>
/// The in-memory embedding index: SIMD search over float32 or int8 templates (for large
/// high-dimensional galleries after a binary first pass), the open-set decision, purpose masks
/// checked per row, and copy-on-write snapshots.
/// </summary>
/// <remarks>
/// <para>Searches read one immutable snapshot (<c>Volatile.Read</c>) and never take a
/// lock; enrol, delete and consent changes build a new snapshot under a writers-only lock and
/// publish it with <c>Volatile.Write</c>. A search that started on the old
/// snapshot finishes on it; the next one sees the change.</para>
/// <para>Purpose limits live HERE, not in callers: each row carries its pupil's effective consent
/// mask (pushed by the consent service) and a search skips rows without the call's purpose. A pupil
/// whose mask was never pushed has mask None: fail closed.</para>
/// </remarks>
public sealed class EmbeddingIndex
{
    private readonly Lock _writeLock = new();
    private Snapshot _snapshot = Snapshot.Empty;

    public EmbeddingIndex(MatchPolicy? policy = null)
    {
        Policy = policy ?? new MatchPolicy();
        Policy.Validate();
    }

    public MatchPolicy Policy { get; }

    /// <summary>
    /// A read-only view of the CURRENT snapshot searched under another policy (benchmarks and tests
    /// compare settings on one loaded gallery without loading it twice). Changes to either index
    /// are not seen by the other.
    /// </summary>
    internal EmbeddingIndex WithPolicy(MatchPolicy policy)
    {
        var view = new EmbeddingIndex(policy);
        view._snapshot = Volatile.Read(ref _snapshot);
        return view;
    }

    /// <summary>Templates held, over all spaces.</summary>
    public int Count => Volatile.Read(ref _snapshot).Partitions.Values.Sum(p => p.Count);

    /// <summary>The partition of one space in the current snapshot (benchmarks inspect its binary codes).</summary>
    internal IndexPartition? PartitionOf(TemplateSpace space) =>
        Volatile.Read(ref _snapshot).Partitions.TryGetValue(space, out var partition) ? partition : null;

    /// <summary>Replaces everything at once (the start-up load from the store).</summary>
    public void Load(IEnumerable<IndexedTemplate> templates, IReadOnlyDictionary<long, BiometricPurpose> purposes, IEnumerable<LookAlikePair> lookAlikes)
    {
        ArgumentNullException.ThrowIfNull(templates);
        var masks = new Dictionary<long, BiometricPurpose>(purposes);
        var partitions = new Dictionary<TemplateSpace, IndexPartition>();
        foreach (var group in templates.GroupBy(t => new TemplateSpace(t.Modality, t.ModelId)))
        {
            var list = group.ToList();
            int dimensions = CheckDimensions(list, null);
            partitions[group.Key] = IndexPartition.Build(dimensions, list, p => masks.GetValueOrDefault(p));
        }
        var snapshot = new Snapshot(partitions, masks, BuildLookAlikes(lookAlikes));
        lock (_writeLock)
            Publish(snapshot);
    }

    /// <summary>
    /// Adds templates and returns the look-alike pairs they create (for the store to keep). Look-alikes
    /// are found against every enrolled pupil in the same space whatever their consent: the point is
    /// to stop a wrong accept when the twin is not visible to a purpose.
    /// </summary>
    public IReadOnlyList<LookAlikePair> Add(IReadOnlyList<IndexedTemplate> templates)
    {
        ArgumentNullException.ThrowIfNull(templates);
        lock (_writeLock)
        {
            var current = _snapshot;
            var partitions = new Dictionary<TemplateSpace, IndexPartition>(current.Partitions);
            var pairs = new List<LookAlikePair>();
            float threshold = Policy.EffectiveLookAlikeThreshold;
            foreach (var group in templates.GroupBy(t => new TemplateSpace(t.Modality, t.ModelId)))
            {
                var list = group.ToList();
                partitions.TryGetValue(group.Key, out var existing);
                int dimensions = CheckDimensions(list, existing);
                foreach (var template in list)
                {
                    if (existing is not null)
                        for (int i = 0; i < existing.Count; i++)
                            if (existing.PupilIds[i] != template.PupilId && TensorPrimitives.Dot(template.Vector, existing.Row(i)) >= threshold)
                                pairs.Add(new LookAlikePair(template.PupilId, existing.PupilIds[i], TensorPrimitives.Dot(template.Vector, existing.Row(i))).Normalised());
                    foreach (var other in list)
                        if (other.PupilId != template.PupilId && TensorPrimitives.Dot(template.Vector, other.Vector) >= threshold)
                            pairs.Add(new LookAlikePair(template.PupilId, other.PupilId, TensorPrimitives.Dot(template.Vector, other.Vector)).Normalised());
                }
                partitions[group.Key] = existing is null
                    ? IndexPartition.Build(dimensions, list, p => current.Purposes.GetValueOrDefault(p))
                    : existing.Append(list, p => current.Purposes.GetValueOrDefault(p));
            }
            var distinct = pairs.GroupBy(p => (p.PupilA, p.PupilB)).Select(g => g.MaxBy(p => p.Score)).ToList();
            Publish(new Snapshot(partitions, current.Purposes, MergeLookAlikes(current.LookAlikes, distinct)));
            return distinct;
        }
    }

    /// <summary>Removes every template of a pupil (revocation, objection, leaving) from memory at once.</summary>
    public int RemovePupil(long pupilId)
    {
        lock (_writeLock)
        {
            var current = _snapshot;
            int removed = 0;
            var partitions = new Dictionary<TemplateSpace, IndexPartition>();
            foreach (var (space, partition) in current.Partitions)
            {
                var kept = partition.Without(i => partition.PupilIds[i] == pupilId);
                removed += partition.Count - kept.Count;
                if (kept.Count > 0)
                    partitions[space] = kept;
            }
            var purposes = new Dictionary<long, BiometricPurpose>(current.Purposes);
            purposes.Remove(pupilId);
            var lookAlikes = current.LookAlikes
                .Where(kv => kv.Key != pupilId)
                .ToDictionary(kv => kv.Key, kv => kv.Value.Where(p => p != pupilId).ToArray())
                .Where(kv => kv.Value.Length > 0)
                .ToDictionary();
            Publish(new Snapshot(partitions, purposes, lookAlikes));
            return removed;
        }
    }

    /// <summary>Removes single templates (expired as unused).</summary>
    public int RemoveTemplates(IReadOnlySet<long> templateIds)
    {
        ArgumentNullException.ThrowIfNull(templateIds);
        lock (_writeLock)
        {
            var current = _snapshot;
            int removed = 0;
            var partitions = new Dictionary<TemplateSpace, IndexPartition>();
            foreach (var (space, partition) in current.Partitions)
            {
                var kept = partition.Without(i => templateIds.Contains(partition.TemplateIds[i]));
                removed += partition.Count - kept.Count;
                if (kept.Count > 0)
                    partitions[space] = kept;
            }
            Publish(current with { Partitions = partitions });
            return removed;
        }
    }

    /// <summary>Sets the purposes a pupil's templates may be matched for (the effective consent mask).</summary>
    public void SetPurposes(long pupilId, BiometricPurpose purposes)
    {
        lock (_writeLock)
        {
            var current = _snapshot;
            var masks = new Dictionary<long, BiometricPurpose>(current.Purposes) { [pupilId] = purposes };
            var partitions = current.Partitions.ToDictionary(kv => kv.Key, kv => kv.Value.WithPurposes(pupilId, purposes));
            Publish(current with { Partitions = partitions, Purposes = masks });
        }
    }

    /// <summary>The purpose mask the index holds for a pupil (None when never set).</summary>
    public BiometricPurpose PurposesOf(long pupilId) => Volatile.Read(ref _snapshot).Purposes.GetValueOrDefault(pupilId);

    /// <summary>Template ids held for a pupil, over all spaces.</summary>
    public IReadOnlyList<long> TemplatesOf(long pupilId)
    {
        var result = new List<long>();
        foreach (var partition in Volatile.Read(ref _snapshot).Partitions.Values)
            for (int i = 0; i < partition.Count; i++)
                if (partition.PupilIds[i] == pupilId)
                    result.Add(partition.TemplateIds[i]);
        return result;
    }

    /// <summary>The pupils flagged as look-alikes of <paramref name="pupilId"/>.</summary>
    public IReadOnlyList<long> LookAlikesOf(long pupilId) =>
        Volatile.Read(ref _snapshot).LookAlikes.TryGetValue(pupilId, out var others) ? others : [];

    /// <summary>
    /// Identifies a face (or palm) for ONE purpose. Only templates whose pupil's consent covers
    /// <paramref name="purpose"/> are ever compared.
    /// </summary>
    /// <param name="query">An L2-normalised template from the same model as <paramref name="space"/>.</param>
    /// <param name="precision">How to score; none: the policy's choice for this space's size (<see cref="MatchPolicy.PrecisionFor"/>).</param>
    public IdentifyDecision Identify(ReadOnlySpan<float> query, BiometricPurpose purpose, TemplateSpace space, SearchPrecision? precision = null)
    {
        if (purpose == BiometricPurpose.None || ((byte)purpose & ((byte)purpose - 1)) != 0)
            throw new ArgumentException($"An identify call states exactly one purpose; got '{purpose}'.", nameof(purpose));
        var snapshot = Volatile.Read(ref _snapshot);
        if (!snapshot.Partitions.TryGetValue(space, out var partition))
            return Unknown($"no {space.Modality} templates from model '{space.ModelId}' are enrolled");
        if (query.Length != partition.Dimensions)
            throw new ArgumentException($"The query has {query.Length} dimensions but model '{space.ModelId}' templates have {partition.Dimensions}: the extractor and the enrolled templates come from different models.", nameof(query));

        var policy = Policy;
        var how = precision ?? policy.PrecisionFor(partition.Dimensions, partition.Count);
        int capacity = how == SearchPrecision.Float32 ? Math.Max(policy.TopK, 2) : Math.Max(policy.RerankCandidates, policy.TopK);
        var top = new TopPupils(capacity);
        partition.Scan(query, purpose, how, top, policy.BinaryCandidates);
        if (top.Count == 0)
            return Unknown($"nobody is enrolled with consent for {purpose}");

        int shown = Math.Min(policy.TopK, top.Count);
        var candidates = new Candidate[shown];
        for (int i = 0; i < shown; i++)
            candidates[i] = new Candidate(top.PupilAt(i), partition.TemplateIds[top.RowAt(i)], top.ScoreAt(i));
        return Decide(top.PupilAt(0), top.ScoreAt(0), top.Count > 1 ? top.ScoreAt(1) : -1f, top.Count > 1 ? top.PupilAt(1) : null, candidates, snapshot);
    }

    private IdentifyDecision Decide(long best, float bestScore, float runnerUp, long? runnerUpPupil, Candidate[] candidates, Snapshot snapshot)
    {
        var policy = Policy;
        if (bestScore < policy.AcceptThreshold)
            return new(IdentifyOutcome.Unknown, null, bestScore, runnerUp, candidates, $"best score {bestScore:F3} is below the threshold {policy.AcceptThreshold:F3}");
        if (snapshot.LookAlikes.TryGetValue(best, out var twins))
            return new(IdentifyOutcome.SecondFactorRequired, best, bestScore, runnerUp, candidates,
                $"pupil {best} has an enrolled look-alike ({string.Join(", ", twins)}): confirm with a card or PIN");
        if (bestScore - runnerUp < policy.Margin)
            return new(IdentifyOutcome.Unknown, null, bestScore, runnerUp, candidates,
                $"ambiguous: pupil {best} ({bestScore:F3}) is within the margin {policy.Margin:F3} of pupil {runnerUpPupil} ({runnerUp:F3})");
        return new(IdentifyOutcome.Accepted, best, bestScore, runnerUp, candidates, $"pupil {best} at {bestScore:F3}, {bestScore - runnerUp:F3} ahead of the next pupil");
    }

    private static IdentifyDecision Unknown(string reason) => new(IdentifyOutcome.Unknown, null, float.NaN, float.NaN, [], reason);

    private static int CheckDimensions(List<IndexedTemplate> templates, IndexPartition? existing)
    {
        int dimensions = existing?.Dimensions ?? templates[0].Vector.Length;
        foreach (var template in templates)
        {
            if (template.Vector.Length != dimensions)
                throw new ArgumentException($"Template {template.TemplateId} of pupil {template.PupilId} has {template.Vector.Length} dimensions but model '{template.ModelId}' templates have {dimensions}. Re-enrol the pupil with the current model.", nameof(templates));
            if (dimensions == 0)
                throw new ArgumentException($"Template {template.TemplateId} is empty.", nameof(templates));
        }
        return dimensions;
    }

    private static Dictionary<long, long[]> BuildLookAlikes(IEnumerable<LookAlikePair> pairs) => MergeLookAlikes(new Dictionary<long, long[]>(), pairs);

    private static Dictionary<long, long[]> MergeLookAlikes(IReadOnlyDictionary<long, long[]> existing, IEnumerable<LookAlikePair> pairs)
    {
        var sets = existing.ToDictionary(kv => kv.Key, kv => new HashSet<long>(kv.Value));
        foreach (var pair in pairs)
        {
            (sets.TryGetValue(pair.PupilA, out var a) ? a : sets[pair.PupilA] = []).Add(pair.PupilB);
            (sets.TryGetValue(pair.PupilB, out var b) ? b : sets[pair.PupilB] = []).Add(pair.PupilA);
        }
        return sets.ToDictionary(kv => kv.Key, kv => kv.Value.Order().ToArray());
    }

    /// <summary>
    /// Runs <paramref name="searches"/> searches of a fixed synthetic query in every space that has templates, and
    /// forgets the results (nothing is decided, kept or audited). At start-up the search code is still the runtime's
    /// first, unoptimised compilation: measured at 50k × 1024-D, the first search took 44 ms and the next dozen 1–15 ms
    /// against about 1 ms once warm. Call it on a background thread after the load, before the gates open.
    /// </summary>
    public void WarmUp(int searches = 60)
    {
        var snapshot = Volatile.Read(ref _snapshot);
        foreach (var (space, partition) in snapshot.Partitions)
        {
            if (partition.Count == 0)
                continue;
            var query = new float[partition.Dimensions];
            var random = new Random(partition.Dimensions);
            for (int j = 0; j < query.Length; j++)
                query[j] = (float)(random.NextDouble() - 0.5);
            TensorPrimitives.Divide(query, TensorPrimitives.Norm(query), query);
            for (int i = 0; i < searches; i++)
                Identify(query, BiometricPurpose.Access, space);
        }
    }

    private void Publish(Snapshot snapshot)
    {
        // The re-rank's rows-by-pupil map is built here, on the writer's thread, not by the first gate search after
        // a load, enrol or delete (at 50k templates that took about 20 ms of the search).
        foreach (var partition in snapshot.Partitions.Values)
            _ = partition.RowsByPupil;
        Volatile.Write(ref _snapshot, snapshot);
    }

    private sealed record Snapshot(
        IReadOnlyDictionary<TemplateSpace, IndexPartition> Partitions,
        IReadOnlyDictionary<long, BiometricPurpose> Purposes,
        IReadOnlyDictionary<long, long[]> LookAlikes)
    {
        public static readonly Snapshot Empty = new(new Dictionary<TemplateSpace, IndexPartition>(), new Dictionary<long, BiometricPurpose>(), new Dictionary<long, long[]>());
    }
}
