using System.Numerics.Tensors;

namespace Kezekshi.Edge.Biometrics.Index;

/// <summary>
/// The templates of one <see cref="TemplateSpace"/>, laid out for scanning: float32 and int8 rows
/// back to back, with the owner, template id and purpose mask of each row. Never changed after it
/// is built; a change builds a new partition (copy-on-write).
/// </summary>
internal sealed class IndexPartition
{
    private IndexPartition(int dimensions, int count, float[] vectors, sbyte[] quantised, float[] scales, long[] pupilIds, long[] templateIds, BiometricPurpose[] purposes)
    {
        Dimensions = dimensions;
        Count = count;
        Vectors = vectors;
        Quantised = quantised;
        Scales = scales;
        PupilIds = pupilIds;
        TemplateIds = templateIds;
        Purposes = purposes;
    }

    public int Dimensions { get; }
    public int Count { get; }
    public float[] Vectors { get; }
    public sbyte[] Quantised { get; }
    public float[] Scales { get; }
    public long[] PupilIds { get; }
    public long[] TemplateIds { get; }

    /// <summary>The purpose mask of each row: its pupil's effective consent, pushed in by the consent service.</summary>
    public BiometricPurpose[] Purposes { get; }

    private Dictionary<long, int[]>? _rowsByPupil;

    /// <summary>Rows of each pupil, built on first use: the re-rank scores all of a candidate's templates.</summary>
    public Dictionary<long, int[]> RowsByPupil => LazyInitializer.EnsureInitialized(ref _rowsByPupil, () =>
    {
        var rows = new Dictionary<long, List<int>>();
        for (int i = 0; i < Count; i++)
        {
            if (!rows.TryGetValue(PupilIds[i], out var list))
                rows[PupilIds[i]] = list = new List<int>(4);
            list.Add(i);
        }
        return rows.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
    });

    public ReadOnlySpan<float> Row(int i) => Vectors.AsSpan(i * Dimensions, Dimensions);

    public ReadOnlySpan<sbyte> QuantisedRow(int i) => Quantised.AsSpan(i * Dimensions, Dimensions);

    public static IndexPartition Build(int dimensions, IReadOnlyList<IndexedTemplate> templates, Func<long, BiometricPurpose> purposeOf)
    {
        int count = templates.Count;
        var vectors = new float[count * dimensions];
        var quantised = new sbyte[count * dimensions];
        var scales = new float[count];
        var pupils = new long[count];
        var ids = new long[count];
        var purposes = new BiometricPurpose[count];
        for (int i = 0; i < count; i++)
        {
            var template = templates[i];
            var row = vectors.AsSpan(i * dimensions, dimensions);
            template.Vector.CopyTo(row);
            scales[i] = Int8Quantiser.Quantise(row, quantised.AsSpan(i * dimensions, dimensions));
            pupils[i] = template.PupilId;
            ids[i] = template.TemplateId;
            purposes[i] = purposeOf(template.PupilId);
        }
        return new IndexPartition(dimensions, count, vectors, quantised, scales, pupils, ids, purposes);
    }

    /// <summary>A new partition with <paramref name="added"/> appended.</summary>
    public IndexPartition Append(IReadOnlyList<IndexedTemplate> added, Func<long, BiometricPurpose> purposeOf)
    {
        var tail = Build(Dimensions, added, purposeOf);
        return new IndexPartition(Dimensions, Count + tail.Count,
            [.. Vectors, .. tail.Vectors], [.. Quantised, .. tail.Quantised], [.. Scales, .. tail.Scales],
            [.. PupilIds, .. tail.PupilIds], [.. TemplateIds, .. tail.TemplateIds], [.. Purposes, .. tail.Purposes]);
    }

    /// <summary>A new partition without the rows <paramref name="remove"/> says yes to, or this one if there are none.</summary>
    public IndexPartition Without(Func<int, bool> remove)
    {
        var keep = new List<int>(Count);
        for (int i = 0; i < Count; i++)
            if (!remove(i))
                keep.Add(i);
        if (keep.Count == Count)
            return this;
        int d = Dimensions;
        var vectors = new float[keep.Count * d];
        var quantised = new sbyte[keep.Count * d];
        var scales = new float[keep.Count];
        var pupils = new long[keep.Count];
        var ids = new long[keep.Count];
        var purposes = new BiometricPurpose[keep.Count];
        for (int j = 0; j < keep.Count; j++)
        {
            int i = keep[j];
            Row(i).CopyTo(vectors.AsSpan(j * d, d));
            QuantisedRow(i).CopyTo(quantised.AsSpan(j * d, d));
            scales[j] = Scales[i];
            pupils[j] = PupilIds[i];
            ids[j] = TemplateIds[i];
            purposes[j] = Purposes[i];
        }
        return new IndexPartition(d, keep.Count, vectors, quantised, scales, pupils, ids, purposes);
    }

    /// <summary>The same rows with the purpose mask of <paramref name="pupilId"/> replaced; the vectors are shared, not copied.</summary>
    public IndexPartition WithPurposes(long pupilId, BiometricPurpose purposes)
    {
        if (Array.IndexOf(PupilIds, pupilId) < 0)
            return this;
        var masks = (BiometricPurpose[])Purposes.Clone();
        for (int i = 0; i < Count; i++)
            if (PupilIds[i] == pupilId)
                masks[i] = purposes;
        return new IndexPartition(Dimensions, Count, Vectors, Quantised, Scales, PupilIds, TemplateIds, masks);
    }

    /// <summary>Scans every row whose mask holds <paramref name="purpose"/> and keeps the best distinct pupils.</summary>
    public void Scan(ReadOnlySpan<float> query, BiometricPurpose purpose, SearchPrecision precision, TopPupils top)
    {
        int d = Dimensions;
        var purposes = Purposes;
        var pupils = PupilIds;
        if (precision == SearchPrecision.Float32)
        {
            var vectors = Vectors;
            for (int i = 0; i < purposes.Length; i++)
            {
                if ((purposes[i] & purpose) == 0)
                    continue;
                float score = TensorPrimitives.Dot(query, new ReadOnlySpan<float>(vectors, i * d, d));
                if (score > top.MinScore)
                    top.Offer(score, pupils[i], i);
            }
            return;
        }

        Span<sbyte> q = d <= 2048 ? stackalloc sbyte[d] : new sbyte[d];
        float queryScale = Int8Quantiser.Quantise(query, q);
        var codes = Quantised;
        var scales = Scales;
        for (int i = 0; i < purposes.Length; i++)
        {
            if ((purposes[i] & purpose) == 0)
                continue;
            float score = Int8Quantiser.Dot(q, new ReadOnlySpan<sbyte>(codes, i * d, d)) * queryScale * scales[i];
            if (score > top.MinScore)
                top.Offer(score, pupils[i], i);
        }
        // Re-rank: the int8 scores chose the candidate pupils; the decision uses exact float scores
        // of each candidate's best template (all of its templates with the purpose are re-scored).
        var rowsByPupil = RowsByPupil;
        for (int c = 0; c < top.Count; c++)
        {
            float best = float.NegativeInfinity;
            int bestRow = top.RowAt(c);
            foreach (int row in rowsByPupil[top.PupilAt(c)])
            {
                if ((purposes[row] & purpose) == 0)
                    continue;
                float score = TensorPrimitives.Dot(query, Row(row));
                if (score > best)
                    (best, bestRow) = (score, row);
            }
            top.Rescore(c, best, bestRow);
        }
        top.Sort();
    }
}
