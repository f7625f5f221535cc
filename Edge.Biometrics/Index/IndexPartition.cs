using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kezekshi.Edge.Biometrics.Index;

/// <summary>
/// The templates of one <see cref="TemplateSpace"/>, laid out for scanning: the float32 rows (the
/// templates' own arrays), int8 rows back to back and binary codes, with the owner, template id and
/// purpose mask of each row. Never changed after it
/// is built; a change builds a new partition (copy-on-write).
/// </summary>
internal sealed class IndexPartition
{
    private IndexPartition(int dimensions, int count, float[][] rows, Int8Rows codes, BinaryCodes binary, long[] pupilIds, long[] templateIds, BiometricPurpose[] purposes)
    {
        Dimensions = dimensions;
        Count = count;
        Rows = rows;
        Codes = codes;
        Binary = binary;
        PupilIds = pupilIds;
        TemplateIds = templateIds;
        Purposes = purposes;
    }

    public int Dimensions { get; }
    public int Count { get; }
    /// <summary>
    /// The float32 rows: the templates' own arrays, shared, not copied (copying 200 MB at 50k × 1024-D
    /// cost more of the start-up than anything else in the build). Nothing changes a template's
    /// array once it is made (<see cref="IndexedTemplate"/>), so sharing is safe; an enrol or delete
    /// copies only the references.
    /// </summary>
    public float[][] Rows { get; }

    /// <summary>The int8 copy of <see cref="Rows"/>, padded and aligned for the scan kernel.</summary>
    public Int8Rows Codes { get; }

    /// <summary>The centred sign codes of <see cref="Rows"/> for the binary first pass (always built: 1/32 of the float rows).</summary>
    public BinaryCodes Binary { get; }
    public long[] PupilIds { get; }
    public long[] TemplateIds { get; }

    /// <summary>The purpose mask of each row: its pupil's effective consent, pushed in by the consent service.</summary>
    public BiometricPurpose[] Purposes { get; }

    private Dictionary<long, int[]>? _rowsByPupil;

    /// <summary>Rows of each pupil, built on first use: the re-rank scores all of a candidate's templates.</summary>
    /// <summary>Whether <see cref="RowsByPupil"/> is built already.</summary>
    internal bool HasRowsByPupil => Volatile.Read(ref _rowsByPupil) is not null;

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

    public ReadOnlySpan<float> Row(int i) => Rows[i];

    public ReadOnlySpan<sbyte> QuantisedRow(int i) => Codes.Row(i);

    /// <summary>
    /// Lays out <paramref name="templates"/> for scanning: the float rows, their int8 copy and
    /// binary codes, owners, ids and purpose masks.
    /// </summary>
    /// <param name="parallelism">Cores to use (-1: all). Any value gives the same partition bit for bit.</param>
    /// <remarks>
    /// The float rows are the templates' own arrays (<see cref="Rows"/>). Then two passes over the
    /// rows, each spread over the cores in blocks of <see cref="BinaryCodes.BlockRows"/>: (1) quantise
    /// each row and add it into its block's sum while it is in cache; (2) once the centre (the mean
    /// of the block sums, added in block order, so it does not depend on the number of cores) is
    /// known, the binary codes. The purpose masks are looked up on the calling thread (the callback
    /// need not be thread-safe).
    /// </remarks>
    public static IndexPartition Build(int dimensions, IReadOnlyList<IndexedTemplate> templates, Func<long, BiometricPurpose> purposeOf, int parallelism = -1)
    {
        int count = templates.Count;
        var rows = new float[count][];
        var pupils = new long[count];
        var ids = new long[count];
        var purposes = new BiometricPurpose[count];
        for (int i = 0; i < count; i++)
        {
            var template = templates[i];
            if (template.Vector.Length != dimensions)
                throw new ArgumentException($"Template {template.TemplateId} has {template.Vector.Length} dimensions, not {dimensions}.", nameof(templates));
            rows[i] = template.Vector;
            pupils[i] = template.PupilId;
            ids[i] = template.TemplateId;
            purposes[i] = purposeOf(template.PupilId);
        }
        var codes = Int8Rows.Create(dimensions, count);
        int blocks = BinaryCodes.BlocksFor(count);
        var blockSums = new float[blocks * dimensions];
        BinaryCodes.ForBlocks(blocks, parallelism, b =>
        {
            var sum = blockSums.AsSpan(b * dimensions, dimensions);
            sum.Clear();
            for (int i = b * BinaryCodes.BlockRows; i < Math.Min(count, (b + 1) * BinaryCodes.BlockRows); i++)
            {
                codes.Set(i, rows[i]);
                TensorPrimitives.Add(sum, rows[i], sum); // while the row is still in cache; the same order as BinaryCodes.SumBlock
            }
        });
        var binary = BinaryCodes.FromCentre(rows, dimensions, BinaryCodes.CentreOf(blockSums, dimensions, count), parallelism);
        return new IndexPartition(dimensions, count, rows, codes, binary, pupils, ids, purposes);
    }

    /// <summary>A new partition with <paramref name="added"/> appended.</summary>
    public IndexPartition Append(IReadOnlyList<IndexedTemplate> added, Func<long, BiometricPurpose> purposeOf)
    {
        var tail = Build(Dimensions, added, purposeOf);
        float[][] rows = [.. Rows, .. tail.Rows];
        // The centre moves with the gallery, so every binary code is made again (tens of ms at
        // 50k × 1024-D, on the writer's thread; searches keep using the old snapshot meanwhile).
        return new IndexPartition(Dimensions, Count + tail.Count,
            rows, Codes.Concat(tail.Codes), BinaryCodes.Build(rows, Dimensions),
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
        var rows = new float[keep.Count][];
        var pupils = new long[keep.Count];
        var ids = new long[keep.Count];
        var purposes = new BiometricPurpose[keep.Count];
        for (int j = 0; j < keep.Count; j++)
        {
            int i = keep[j];
            rows[j] = Rows[i];
            pupils[j] = PupilIds[i];
            ids[j] = TemplateIds[i];
            purposes[j] = Purposes[i];
        }
        return new IndexPartition(d, keep.Count, rows, Codes.Select(keep), BinaryCodes.Build(rows, d), pupils, ids, purposes);
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
        // Same rows, same owners: the rows-by-pupil map carries over, so a consent change does not
        // make the next gate search rebuild it.
        return new IndexPartition(Dimensions, Count, Rows, Codes, Binary, PupilIds, TemplateIds, masks) { _rowsByPupil = Volatile.Read(ref _rowsByPupil) };
    }

    /// <summary>Scans every row whose mask holds <paramref name="purpose"/> and keeps the best distinct pupils.</summary>
    /// <param name="binaryCandidates">For <see cref="SearchPrecision.Binary"/>: how many rows the binary first pass hands to the int8 scores.</param>
    public void Scan(ReadOnlySpan<float> query, BiometricPurpose purpose, SearchPrecision precision, TopPupils top, int binaryCandidates = 256)
    {
        int d = Dimensions;
        var purposes = Purposes;
        var pupils = PupilIds;
        if (precision == SearchPrecision.Float32)
        {
            var rows = Rows;
            float threshold = top.MinScore;
            int rowBytes = d * sizeof(float);
            int prefetchRows = Math.Max(1, PrefetchDistance / rowBytes);
            for (int i = 0; i < purposes.Length; i++)
            {
                if ((purposes[i] & purpose) == 0)
                    continue;
                if (Sse.IsSupported && i + prefetchRows < purposes.Length)
                    PrefetchFloats(rows[i + prefetchRows], 0, rowBytes);
                float score = TensorPrimitives.Dot(query, rows[i]);
                if (score > threshold)
                {
                    top.Offer(score, pupils[i], i);
                    threshold = top.MinScore;
                }
            }
            return;
        }

        if (precision == SearchPrecision.Binary)
            ScanBinary(query, purpose, binaryCandidates, top);
        else
            ScanInt8(query, purpose, top);
        // Re-rank: the int8 scores chose the candidate pupils; the decision uses exact float scores
        // of each candidate's best template (all of its templates with the purpose are re-scored).
        var rowsByPupil = RowsByPupil;
        int floatRowBytes = d * sizeof(float);
        if (Sse.IsSupported)
            for (int c = 0; c < Math.Min(top.Count, 2); c++)
                PrefetchFloats(Rows[top.RowAt(c)], 0, floatRowBytes);
        for (int c = 0; c < top.Count; c++)
        {
            // The candidates' float rows are scattered: ask for the one after next while this one is scored.
            if (Sse.IsSupported && c + 2 < top.Count)
                PrefetchFloats(Rows[top.RowAt(c + 2)], 0, floatRowBytes);
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

    /// <summary>
    /// The two-stage first pass: the <paramref name="candidates"/> rows chosen by the binary codes
    /// (<see cref="ChooseCandidates"/>), then the exact int8 score of just those rows offered to
    /// <paramref name="top"/> (the float re-rank follows in <see cref="Scan"/>).
    /// </summary>
    internal void ScanBinary(ReadOnlySpan<float> query, BiometricPurpose purpose, int candidates, TopPupils top)
    {
        var chosen = ArrayPool<int>.Shared.Rent(Math.Max(1, Math.Min(candidates, Count)));
        try
        {
            int n = ChooseCandidates(query, purpose, candidates, chosen);
            ScoreCandidates(query, chosen.AsSpan(0, n), top);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(chosen);
        }
    }

    /// <summary>
    /// How many rows, at least, the Hamming stage hands to the estimate stage: this many times
    /// the candidate count, and never fewer than <see cref="MinNearest"/>.
    /// </summary>
    internal const int NearestFactor = 4;

    /// <summary>The smallest Hamming pool (see <see cref="NearestFactor"/>).</summary>
    internal const int MinNearest = 2048;

    /// <summary>
    /// For a split code (<see cref="BinaryCodes.IsSplit"/>): the pool, chosen by head distance, is
    /// this many times larger, because half a code ranks rows less sharply than the whole code.
    /// </summary>
    internal const int HeadPoolFactor = 2;

    /// <summary>
    /// Picks the rows the int8 stage scores, into <paramref name="chosen"/> in row order; returns how many.
    /// Rows without the purpose are never scored and never chosen.
    /// </summary>
    /// <remarks>
    /// <para>Three steps. (1) <see cref="BinaryCodes.Distances"/>: the Hamming distance of every row
    /// with the purpose and a histogram of the distances (at most D + 1 bins: 4 KB, stays in L1).
    /// (2) The pool: the max(<see cref="NearestFactor"/> × <paramref name="candidates"/>,
    /// <see cref="MinNearest"/>) rows nearest in Hamming distance, the cut-off read from the histogram
    /// and the rows collected by one vectorised compare over the distances. A split code
    /// (1,024-D) is scanned by its head only, so its pool is <see cref="HeadPoolFactor"/> times
    /// larger and chosen by head distance; then the pool rows' tails are added
    /// (<see cref="BinaryCodes.EstimatePool"/>), so the estimate works from whole distances.
    /// (3) The estimated score (<see cref="BinaryCodes.Bucket"/>) of the pool rows only, and the
    /// <paramref name="candidates"/> best of those by a second histogram.</para>
    /// <para>Why in that order: the estimate picks better candidates than the raw distance (on the
    /// real ORL templates among 50,000 distractors the exact best's worst position is 202 by
    /// estimate, 578 by distance), but working it out for every row cost about a third of the
    /// scan. The estimate of a row does not depend on the other rows, so ranking only the pool by
    /// it loses nothing as long as the exact best is in the pool: whenever its Hamming position
    /// (ties counted against it) is within the pool AND its estimated-score position over the whole
    /// gallery is within <paramref name="candidates"/>, it is chosen (its position within the pool
    /// can only be smaller). For a split code the Hamming position is the head-distance one. The
    /// benchmark prints these positions.</para>
    /// <para>Ties at any cut-off are taken in row order until the count is reached.</para>
    /// </remarks>
    internal int ChooseCandidates(ReadOnlySpan<float> query, BiometricPurpose purpose, int candidates, Span<int> chosen)
    {
        var binary = Binary;
        int count = Count;
        int words = binary.Words;
        int d = Dimensions;
        Span<ulong> code = words <= 128 ? stackalloc ulong[words] : new ulong[words];
        BinaryCodes.Encode(query, binary.Centre, code);

        var distances = ArrayPool<ushort>.Shared.Rent(count + Vector256<ushort>.Count);
        var histogram = ArrayPool<int>.Shared.Rent(d + 1);
        try
        {
            histogram.AsSpan(0, d + 1).Clear();
            ref byte masks = ref Unsafe.As<BiometricPurpose, byte>(ref MemoryMarshal.GetArrayDataReference(Purposes));
            int visible = binary.Distances(code, ref masks, (byte)purpose, distances.AsSpan(0, count), histogram.AsSpan(0, d + 1), PrefetchDistance);
            return ChooseNearest(query, code, distances.AsSpan(0, count), histogram.AsSpan(0, d + 1), visible, candidates, chosen);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(histogram);
            ArrayPool<ushort>.Shared.Return(distances);
        }
    }

    /// <summary>
    /// Steps (2) and (3) of <see cref="ChooseCandidates"/>: from every row's scanned Hamming distance
    /// (<see cref="ushort.MaxValue"/> for rows without the purpose) and their histogram, the pool of
    /// the nearest rows, then the <paramref name="candidates"/> best of the pool by estimated score.
    /// </summary>
    /// <param name="code">The query's whole code (a split code's tails are compared with its second half).</param>
    internal int ChooseNearest(ReadOnlySpan<float> query, ReadOnlySpan<ulong> code, ReadOnlySpan<ushort> distances, ReadOnlySpan<int> histogram, int visible, int candidates, Span<int> chosen)
    {
        var binary = Binary;
        int wanted = Math.Min(candidates, visible);
        if (wanted == 0)
            return 0;
        int poolSize = Math.Min(visible, Math.Max(MinNearest, NearestFactor * candidates) * (binary.IsSplit ? HeadPoolFactor : 1));
        var pool = ArrayPool<int>.Shared.Rent(poolSize);
        var poolDistances = ArrayPool<ushort>.Shared.Rent(poolSize);
        try
        {
            int inPool = SelectSmallest(distances, histogram, poolSize, pool);
            if (inPool <= wanted)
            {
                pool.AsSpan(0, inPool).CopyTo(chosen);
                return inPool;
            }
            for (int p = 0; p < inPool; p++)
                poolDistances[p] = distances[pool[p]];
            return ChooseByEstimate(query, code, pool.AsSpan(0, inPool), poolDistances.AsSpan(0, inPool), wanted, chosen);
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(poolDistances);
            ArrayPool<int>.Shared.Return(pool);
        }
    }

    /// <summary>
    /// Step (3) of <see cref="ChooseCandidates"/>: the estimated score of each <paramref name="pool"/>
    /// row from its whole Hamming distance (<paramref name="poolDistances"/> holds the scanned ones:
    /// a split code's tails are added on the way), and the <paramref name="wanted"/> (fewer than the
    /// pool) best, into <paramref name="chosen"/> in row order.
    /// </summary>
    private int ChooseByEstimate(ReadOnlySpan<float> query, ReadOnlySpan<ulong> code, ReadOnlySpan<int> pool, Span<ushort> poolDistances, int wanted, Span<int> chosen)
    {
        var binary = Binary;
        int d = Dimensions;
        int inPool = pool.Length;
        var estimates = ArrayPool<ushort>.Shared.Rent(inPool + Vector256<ushort>.Count);
        var buckets = ArrayPool<int>.Shared.Rent(BinaryCodes.Buckets);
        try
        {
            // The estimated score of the pool rows only.
            Span<float> centred = d <= 4096 ? stackalloc float[d] : new float[d];
            TensorPrimitives.Subtract(query, binary.Centre, centred);
            float queryNorm = TensorPrimitives.Norm(centred);
            var counts = buckets.AsSpan(0, BinaryCodes.Buckets);
            counts.Clear();
            binary.EstimatePool(code, queryNorm, pool, poolDistances, estimates.AsSpan(0, inPool), counts);
            int n = SelectSmallest(estimates.AsSpan(0, inPool), counts, wanted, chosen);
            // Positions in the pool to rows (the pool is in row order, so the rows stay in row order).
            for (int c = 0; c < n; c++)
                chosen[c] = pool[chosen[c]];
            return n;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(buckets);
            ArrayPool<ushort>.Shared.Return(estimates);
        }
    }

    /// <summary>
    /// The positions of the <paramref name="wanted"/> smallest <paramref name="keys"/>, in position
    /// order, given <paramref name="histogram"/>[k] = how many keys equal k (keys of
    /// <see cref="ushort.MaxValue"/> are not counted and never taken). Keys AT the cut-off are taken
    /// in position order until <paramref name="wanted"/> is reached (ties at the edge: any of them will do).
    /// </summary>
    /// <param name="packed">Whether the branch-free AVX2 version may be used (tests run both).</param>
    internal static int SelectSmallest(ReadOnlySpan<ushort> keys, ReadOnlySpan<int> histogram, int wanted, Span<int> output, bool packed = true)
    {
        if (output.Length < wanted)
            throw new ArgumentException($"Room for {output.Length} positions, {wanted} wanted.", nameof(output));
        int cutoff = 0, below = 0;
        while (cutoff < histogram.Length && below + histogram[cutoff] < wanted)
            below += histogram[cutoff++];
        if (cutoff == histogram.Length)
            throw new ArgumentException($"The histogram counts {below} keys, fewer than the {wanted} wanted.", nameof(histogram));
        int atCutoff = wanted - below;
        if (packed && Avx2.IsSupported)
            return SelectSmallestAvx2(keys, cutoff, atCutoff, wanted, output);

        int n = 0;
        int i0 = 0;
        int count = keys.Length;
        ref ushort key0 = ref MemoryMarshal.GetReference(keys);
        if (Vector256.IsHardwareAccelerated)
        {
            var limit = Vector256.Create((ushort)cutoff);
            for (; i0 <= count - Vector256<ushort>.Count; i0 += Vector256<ushort>.Count)
            {
                uint near = Vector256.LessThanOrEqual(Vector256.LoadUnsafe(ref key0, (nuint)i0), limit).ExtractMostSignificantBits();
                while (near != 0)
                {
                    int i = i0 + BitOperations.TrailingZeroCount(near);
                    near &= near - 1;
                    n = Choose(keys[i], i, cutoff, ref atCutoff, output, n);
                }
            }
        }
        for (; i0 < count; i0++)
            if (keys[i0] <= cutoff)
                n = Choose(keys[i0], i0, cutoff, ref atCutoff, output, n);
        return n;
    }

    /// <summary>
    /// <see cref="SelectSmallest"/> without a branch per key: eight keys a step are compared with
    /// the cut-off, and the positions of those at or below it are packed to the front of a vector by
    /// one permute (the pattern looked up by the 8-bit compare mask) and stored, the count moving by
    /// the mask's popcount. Then one pass keeps every position below the cut-off and the first
    /// <paramref name="atCutoff"/> at it. The branchy version lost a mispredicted branch per
    /// 16 keys and one per chosen key (measured ≈ 54 µs for 4,096 of 50,000 keys).
    /// </summary>
    private static int SelectSmallestAvx2(ReadOnlySpan<ushort> keys, int cutoff, int atCutoff, int wanted, Span<int> output)
    {
        int count = keys.Length;
        // Room for every key plus one vector: the stores never depend on the histogram being right.
        var scratch = ArrayPool<int>.Shared.Rent(count + Vector256<int>.Count);
        try
        {
            ref ushort key0 = ref MemoryMarshal.GetReference(keys);
            ref int scratch0 = ref MemoryMarshal.GetArrayDataReference(scratch);
            ref int patterns = ref MemoryMarshal.GetArrayDataReference(s_packPatterns);
            var limit = Vector128.Create((ushort)cutoff);
            var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
            int m = 0;
            int i = 0;
            for (; i <= count - Vector128<ushort>.Count; i += Vector128<ushort>.Count)
            {
                var near = Vector128.LessThanOrEqual(Vector128.LoadUnsafe(ref key0, (nuint)i), limit).AsInt16();
                uint mask = Sse2.PackSignedSaturate(near, near).ExtractMostSignificantBits() & 0xFF;
                var pattern = Vector256.LoadUnsafe(ref patterns, mask * 8);
                Avx2.PermuteVar8x32(Vector256.Create(i) + lanes, pattern).StoreUnsafe(ref scratch0, (nuint)m);
                m += BitOperations.PopCount(mask);
            }
            for (; i < count; i++)
                if (Unsafe.Add(ref key0, i) <= cutoff)
                    Unsafe.Add(ref scratch0, m++) = i;

            int n = 0;
            int ties = atCutoff;
            ref int output0 = ref MemoryMarshal.GetReference(output);
            for (int k = 0; k < m && n < wanted; k++)
            {
                int position = Unsafe.Add(ref scratch0, k);
                bool tie = Unsafe.Add(ref key0, position) == cutoff;
                Unsafe.Add(ref output0, n) = position;
                n += !tie || ties > 0 ? 1 : 0;
                ties -= tie ? 1 : 0;
            }
            return n;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(scratch);
        }
    }

    /// <summary>For each 8-bit mask, the lanes of its set bits in order, then zeros: <c>vpermd</c> packs the chosen lanes to the front.</summary>
    private static readonly int[] s_packPatterns = PackPatterns();

    private static int[] PackPatterns()
    {
        var patterns = new int[256 * 8];
        for (int mask = 0; mask < 256; mask++)
        {
            int k = 0;
            for (int lane = 0; lane < 8; lane++)
                if ((mask & (1 << lane)) != 0)
                    patterns[(mask * 8) + k++] = lane;
        }
        return patterns;
    }

    /// <summary>The query quantised like the rows (zero-padded to the row stride) and its per-byte magnitudes for the int8 kernel; returns its scale.</summary>
    private float QuantiseQuery(ReadOnlySpan<float> query, Span<sbyte> q, Span<byte> magnitude)
    {
        q.Clear();
        float scale = Int8Quantiser.Quantise(query, q[..Dimensions]);
        Int8Quantiser.Magnitudes(q, magnitude);
        return scale;
    }

    /// <summary>
    /// The exact int8 scores of the chosen <paramref name="rows"/>, offered to <paramref name="top"/>:
    /// four rows per call of the four-row kernel (<see cref="Int8Quantiser.Dot4Rows"/>), the rows
    /// prefetched a few ahead because they are scattered over the int8 array (51 MB at 50k × 1024-D):
    /// several misses in flight instead of one at a time.
    /// </summary>
    internal void ScoreCandidates(ReadOnlySpan<float> query, ReadOnlySpan<int> rows, TopPupils top)
    {
        var codes = Codes;
        int stride = codes.Stride;
        int n = rows.Length;
        Span<sbyte> q = stride <= 4096 ? stackalloc sbyte[stride] : new sbyte[stride];
        Span<byte> magnitude = stride <= 4096 ? stackalloc byte[stride] : new byte[stride];
        float queryScale = QuantiseQuery(query, q, magnitude);
        ref sbyte q0 = ref MemoryMarshal.GetReference(q);
        ref byte magnitude0 = ref MemoryMarshal.GetReference(magnitude);
        var scales = codes.Scales;
        var pupils = PupilIds;
        float threshold = top.MinScore;
        for (int c = 0; c < Math.Min(n, CandidatePrefetch); c++)
            PrefetchCandidate(rows[c], stride);
        int b = 0;
        for (; b <= n - 4; b += 4)
        {
            for (int c = b + CandidatePrefetch; c < Math.Min(n, b + CandidatePrefetch + 4); c++)
                PrefetchCandidate(rows[c], stride);
            int r0 = rows[b], r1 = rows[b + 1], r2 = rows[b + 2], r3 = rows[b + 3];
            var dots = Int8Quantiser.Dot4Rows(ref q0, ref magnitude0, ref codes.RowReference(r0), ref codes.RowReference(r1), ref codes.RowReference(r2), ref codes.RowReference(r3), stride);
            // Same order of float operations as the single-row path: (dot × query scale) × row scale.
            var scores = Vector128.ConvertToSingle(dots) * Vector128.Create(queryScale) * Vector128.Create(scales[r0], scales[r1], scales[r2], scales[r3]);
            uint better = Vector128.GreaterThan(scores, Vector128.Create(threshold)).ExtractMostSignificantBits();
            while (better != 0)
            {
                int k = BitOperations.TrailingZeroCount(better);
                better &= better - 1;
                float score = scores.GetElement(k);
                if (score > threshold)
                {
                    int row = rows[b + k];
                    top.Offer(score, pupils[row], row);
                    threshold = top.MinScore;
                }
            }
        }
        for (; b < n; b++)
            threshold = ScoreOne(q, queryScale, rows[b], threshold, top);
    }

    /// <summary>How many chosen rows ahead of the ones being scored are requested from memory.</summary>
    private const int CandidatePrefetch = 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PrefetchCandidate(int row, int bytes)
    {
        if (Sse.IsSupported)
            Prefetch(ref Codes.RowReference(row), bytes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Choose(int key, int position, int cutoff, ref int atCutoff, Span<int> output, int n)
    {
        if (key < cutoff)
        {
            output[n] = position;
            return n + 1;
        }
        if (atCutoff == 0)
            return n;
        atCutoff--;
        output[n] = position;
        return n + 1;
    }

    /// <summary>
    /// The int8 pass: exact int32 dot products four rows at a time (<see cref="Int8Quantiser.Dot4"/>),
    /// scaled to floats and compared with the current worst of the best pupils in one vector compare.
    /// </summary>
    /// <remarks>
    /// The purpose test reads the masks of four rows as one 32-bit word: a block where every row has
    /// the purpose goes straight to the kernel, a block where none has it is skipped, and only a
    /// mixed block is scored row by row. A row without the purpose is never scored. Almost every
    /// row loses the compare with <see cref="TopPupils.MinScore"/>, so the distinct-pupil insert
    /// runs rarely and is kept out of the loop.
    /// </remarks>
    internal void ScanInt8(ReadOnlySpan<float> query, BiometricPurpose purpose, TopPupils top)
    {
        var codes = Codes;
        int stride = codes.Stride;
        int count = Count;
        Span<sbyte> q = stride <= 4096 ? stackalloc sbyte[stride] : new sbyte[stride];
        Span<byte> magnitude = stride <= 4096 ? stackalloc byte[stride] : new byte[stride];
        float queryScale = QuantiseQuery(query, q, magnitude);
        ref sbyte q0 = ref MemoryMarshal.GetReference(q);
        ref byte magnitude0 = ref MemoryMarshal.GetReference(magnitude);

        var scales = codes.Scales;
        var pupils = PupilIds;
        ref float scales0 = ref MemoryMarshal.GetArrayDataReference(scales);
        ref byte masks = ref Unsafe.As<BiometricPurpose, byte>(ref MemoryMarshal.GetArrayDataReference(Purposes));
        byte bit = (byte)purpose;
        uint everyRow = 0x01010101u * bit;
        var queryScales = Vector128.Create(queryScale);
        float threshold = top.MinScore;
        int prefetchRows = Math.Max(4, PrefetchDistance / stride);

        int i = 0;
        for (; i <= count - 4; i += 4)
        {
            uint block = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref masks, i)) & everyRow;
            if (block == everyRow)
            {
                if (Sse.IsSupported)
                    Prefetch(ref codes.RowReference(Math.Min(i + prefetchRows, count - 4)), 4 * stride);
                var dots = Int8Quantiser.Dot4(ref q0, ref magnitude0, ref codes.RowReference(i), stride);
                // Same order of float operations as the single-row path: (dot × query scale) × row scale.
                var scores = Vector128.ConvertToSingle(dots) * queryScales * Vector128.LoadUnsafe(ref scales0, (nuint)i);
                uint better = Vector128.GreaterThan(scores, Vector128.Create(threshold)).ExtractMostSignificantBits();
                while (better != 0)
                {
                    int k = BitOperations.TrailingZeroCount(better);
                    better &= better - 1;
                    float score = scores.GetElement(k);
                    if (score > threshold)
                    {
                        top.Offer(score, pupils[i + k], i + k);
                        threshold = top.MinScore;
                    }
                }
            }
            else if (block != 0)
            {
                for (int k = i; k < i + 4; k++)
                    if ((Unsafe.Add(ref masks, k) & bit) != 0)
                        threshold = ScoreOne(q, queryScale, k, threshold, top);
            }
        }
        for (; i < count; i++)
            if ((Unsafe.Add(ref masks, i) & bit) != 0)
                threshold = ScoreOne(q, queryScale, i, threshold, top);
    }

    /// <summary>
    /// How far ahead of the kernel the scan asks for rows (bytes). Measured on the 2-core Xeon
    /// (Cascade Lake, AVX2) at 50k × 192-D: 6 KB ahead (32 rows) cut the int8 p50 by about a
    /// fifth against no prefetch and against 16 rows (3 KB); the hardware prefetcher alone does not
    /// keep enough lines in flight for one core to reach the memory bandwidth.
    /// </summary>
    private const int PrefetchDistance = 6 * 1024;

    /// <summary>Asks for the cache lines of <paramref name="bytes"/> bytes from <paramref name="start"/> (a hint: never faults).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(ref sbyte start, int bytes)
    {
        // The rows live in a pinned array, so the address is stable.
        byte* p = (byte*)Unsafe.AsPointer(ref start);
        for (int b = 0; b < bytes; b += 64)
            Sse.Prefetch0(p + b);
    }

    /// <summary>Prefetch for the float rows: a managed array, so pinned only for the instant of taking the address (a hint never faults).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchFloats(float[] vectors, int offset, int bytes)
    {
        fixed (float* start = &vectors[offset])
        {
            byte* p = (byte*)start;
            for (int b = 0; b < bytes; b += 64)
                Sse.Prefetch0(p + b);
        }
    }

    private float ScoreOne(ReadOnlySpan<sbyte> q, float queryScale, int row, float threshold, TopPupils top)
    {
        float score = Int8Quantiser.Dot(q, Codes.PaddedRow(row)) * queryScale * Codes.Scales[row];
        if (score <= threshold)
            return threshold;
        top.Offer(score, PupilIds[row], row);
        return top.MinScore;
    }
}
