using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kezekshi.Edge.Biometrics.Index;

/// <summary>
/// One bit per dimension for every row of a partition: the sign of the row minus the gallery's
/// mean template (the centre), packed 64 dimensions per <see cref="ulong"/>. The first pass of the
/// two-stage search ranks rows by the Hamming distance between these codes and the query's code.
/// Never changed after it is built.
/// </summary>
/// <remarks>
/// <para>Why centred: face embeddings share a large common direction (every faceres template has
/// a cosine of about 0.5 with the mean template), so the raw signs of most dimensions are the same
/// for everybody and carry no information. Subtracting the mean first makes each bit split the
/// gallery roughly in half, and the Hamming distance then tracks the angle between the centred
/// vectors (the probability that a bit differs is that angle over π).</para>
/// <para>Size: 1,024 dimensions give 128 bytes per row, an eighth of the int8 row, so 50,000 rows
/// (6.4 MB) stay in the last-level cache where the 51 MB of int8 rows cannot.</para>
/// <para>The centre is the mean of exactly the float rows it codes, recomputed whenever a snapshot
/// changes rows (enrol, delete); it lives in the snapshot, so no external data is needed.</para>
/// </remarks>
internal sealed class BinaryCodes
{
    /// <summary>Alignment of the first row: one cache line (a 1024-D code is exactly two).</summary>
    private const int Alignment = 64;

    private readonly ulong[] _codes;
    private readonly int _offset;

    /// <summary>Estimates are ranked in buckets of 1/<see cref="BucketScale"/> of a cosine (0.0005): far finer than any score that matters.</summary>
    public const float BucketScale = 2048f;

    /// <summary>Buckets span estimates from 1 (bucket 0) down to -1; anything outside is clamped.</summary>
    public const int Buckets = 4096;

    private BinaryCodes(int dimensions, int count, float[] centre)
    {
        Dimensions = dimensions;
        Count = count;
        Words = WordsFor(dimensions);
        Centre = centre;
        Norms = new float[count];
        Offsets = new float[count];
        Cosines = new float[dimensions + 1];
        for (int h = 0; h <= dimensions; h++)
            Cosines[h] = MathF.Cos(MathF.PI * h / dimensions);
        // Pinned (the scan prefetches by address) and 64-byte aligned, as the int8 rows.
        _codes = GC.AllocateArray<ulong>((count * Words) + (Alignment / sizeof(ulong)), pinned: true);
        long address = Marshal.UnsafeAddrOfPinnedArrayElement(_codes, 0).ToInt64();
        _offset = (int)((Alignment - (address % Alignment)) % Alignment) / sizeof(ulong);
    }

    public int Dimensions { get; }

    public int Count { get; }

    /// <summary>64-bit words per row, a multiple of four (32 bytes, one AVX2 vector); bits past <see cref="Dimensions"/> are zero in every code.</summary>
    public int Words { get; }

    /// <summary>The mean of the rows these codes were made from.</summary>
    public float[] Centre { get; }

    /// <summary>|x − centre| of each row.</summary>
    public float[] Norms { get; }

    /// <summary>centre · (x − centre) of each row.</summary>
    public float[] Offsets { get; }

    /// <summary>cos(π h / <see cref="Dimensions"/>) for every Hamming distance h: the angle the distance stands for.</summary>
    public float[] Cosines { get; }

    public static int WordsFor(int dimensions) => (dimensions + 255) / 256 * 4;

    /// <summary>The code of row <paramref name="i"/>.</summary>
    public ReadOnlySpan<ulong> Row(int i) => _codes.AsSpan(_offset + (i * Words), Words);

    /// <summary>The first word of row <paramref name="i"/>, unchecked: the scan keeps <paramref name="i"/> in range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ulong RowReference(int i) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_codes), _offset + (i * Words));

    /// <summary>Centres and codes <paramref name="count"/> float rows of <paramref name="dimensions"/> values laid out back to back.</summary>
    public static BinaryCodes Build(ReadOnlySpan<float> vectors, int dimensions, int count)
    {
        var centre = new float[dimensions];
        if (count > 0)
        {
            // Summed in double per block of rows: 50,000 float additions into one float would lose
            // the low bits of the mean, which is small next to the sum.
            var sum = new double[dimensions];
            var block = new float[dimensions];
            for (int start = 0; start < count; start += 256)
            {
                block.AsSpan().Clear();
                int end = Math.Min(count, start + 256);
                for (int i = start; i < end; i++)
                    TensorPrimitives.Add(block, vectors.Slice(i * dimensions, dimensions), block);
                for (int j = 0; j < dimensions; j++)
                    sum[j] += block[j];
            }
            for (int j = 0; j < dimensions; j++)
                centre[j] = (float)(sum[j] / count);
        }
        var codes = new BinaryCodes(dimensions, count, centre);
        int words = codes.Words;
        // |x − c|² = |x|² − 2 c·x + |c|² and c·(x − c) = c·x − |c|²: two dot products a row, no
        // centred copy (this runs inside the start-up load of every template).
        float centreSquared = TensorPrimitives.Dot(centre, centre);
        for (int i = 0; i < count; i++)
        {
            var row = vectors.Slice(i * dimensions, dimensions);
            Encode(row, centre, codes._codes.AsSpan(codes._offset + (i * words), words));
            float towardsCentre = TensorPrimitives.Dot(centre, row);
            codes.Norms[i] = MathF.Sqrt(MathF.Max(0f, TensorPrimitives.Dot(row, row) - (2 * towardsCentre) + centreSquared));
            codes.Offsets[i] = towardsCentre - centreSquared;
        }
        return codes;
    }

    /// <summary>Writes the code of <paramref name="vector"/>: bit j set when component j is above the centre's.</summary>
    public static void Encode(ReadOnlySpan<float> vector, ReadOnlySpan<float> centre, Span<ulong> code)
    {
        if (vector.Length != centre.Length || code.Length != WordsFor(vector.Length))
            throw new ArgumentException($"A {vector.Length}-D vector against a {centre.Length}-D centre needs {WordsFor(vector.Length)} code words, not {code.Length}.", nameof(code));
        code.Clear();
        int d = vector.Length;
        int j = 0;
        ref float v0 = ref MemoryMarshal.GetReference(vector);
        ref float c0 = ref MemoryMarshal.GetReference(centre);
        if (Vector256.IsHardwareAccelerated)
        {
            // Eight comparisons give eight bits at once; 64 is a multiple of 8, so a byte never straddles two words.
            for (; j <= d - 8; j += 8)
            {
                uint bits = Vector256.GreaterThan(Vector256.LoadUnsafe(ref v0, (nuint)j), Vector256.LoadUnsafe(ref c0, (nuint)j)).ExtractMostSignificantBits();
                code[j >> 6] |= (ulong)bits << (j & 63);
            }
        }
        for (; j < d; j++)
            if (Unsafe.Add(ref v0, j) > Unsafe.Add(ref c0, j))
                code[j >> 6] |= 1UL << (j & 63);
    }

    /// <summary>
    /// The estimated score of a row from its Hamming distance <paramref name="hamming"/>, as a rank
    /// bucket (0 = best). The dot product of two unit vectors q and x splits, around the centre c, into
    /// q'·x' + c·x' + (terms equal for every row), with q' = q − c and x' = x − c; the Hamming distance
    /// estimates the angle between q' and x', so q'·x' ≈ |q'| |x'| cos(π h / D). Ranking by this
    /// rather than by h alone counts how far a row is from the centre and how much it leans towards
    /// it; measured on the real ORL faceres templates among 50,000 distractors, the exact best
    /// template's worst position fell from 578 to 201.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Bucket(float queryNorm, int row, int hamming)
    {
        float estimate = (queryNorm * Norms[row] * Cosines[hamming]) + Offsets[row];
        return Math.Clamp((int)((1f - estimate) * BucketScale), 0, Buckets - 1);
    }

    /// <summary>
    /// The first pass over every row: the Hamming distance of each row's code to <paramref name="query"/>,
    /// turned into the row's estimated-score bucket (<see cref="Bucket"/>), written into
    /// <paramref name="buckets"/> and counted in <paramref name="histogram"/>; rows whose purpose
    /// mask lacks <paramref name="bit"/> get <see cref="ushort.MaxValue"/> and are not counted.
    /// Returns the number of rows counted.
    /// </summary>
    /// <param name="queryNorm">|query − centre|.</param>
    /// <param name="masks">The purpose mask byte of row 0; row i's is <paramref name="masks"/> + i.</param>
    /// <param name="prefetchBytes">How far ahead (bytes) to ask for rows; 0 for none.</param>
    public unsafe int Scan(ReadOnlySpan<ulong> query, float queryNorm, ref byte masks, byte bit, Span<ushort> buckets, Span<int> histogram, int prefetchBytes)
    {
        if (query.Length != Words || buckets.Length < Count || histogram.Length < Buckets)
            throw new ArgumentException($"A scan of {Count} {Dimensions}-D codes needs a {Words}-word query, {Count} buckets and {Buckets} histogram bins.", nameof(query));
        var distances = buckets;
        int count = Count;
        int words = Words;
        int rowBytes = words * sizeof(ulong);
        int prefetchRows = prefetchBytes / rowBytes;
        ref ulong q0 = ref MemoryMarshal.GetReference(query);
        ref ushort d0 = ref MemoryMarshal.GetReference(distances);
        ref int h0 = ref MemoryMarshal.GetReference(histogram);
        int visible = 0;
        if (Avx2.IsSupported && words <= 16)
        {
            // Up to 1,024 bits: the query stays in four registers and each row is one straight-line
            // kernel (no inner loop). In a microbenchmark of 50,000 codes on the shared Xeon this
            // took 0.53 ms against 0.72 ms through the general loop (same run, interleaved).
            int vectors = words / 4;
            ref byte qb = ref Unsafe.As<ulong, byte>(ref q0);
            var qv0 = Vector256.LoadUnsafe(ref qb);
            var qv1 = vectors > 1 ? Vector256.LoadUnsafe(ref qb, 32) : default;
            var qv2 = vectors > 2 ? Vector256.LoadUnsafe(ref qb, 64) : default;
            var qv3 = vectors > 3 ? Vector256.LoadUnsafe(ref qb, 96) : default;
            var table = Vector256.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
            var low = Vector256.Create((byte)0x0f);
            // Eight rows per step: their distances (row by row), then their estimates in one vector
            // step: a gather of the eight cosines, |q'||x'|cos + c·x' and the bucket. (The estimate
            // costs about 0.3 ms of the 50k scan on the shared machine either way, scalar or
            // vectorised — not resolved; it buys the better candidate order, see Bucket.)
            Span<int> hamming = stackalloc int[8];
            Span<int> bucket = stackalloc int[8];
            var scale = Vector256.Create(BucketScale);
            var one = Vector256.Create(1f);
            var top = Vector256.Create((float)(Buckets - 1));
            var norms = Vector256.Create(queryNorm);
            ref float n0 = ref MemoryMarshal.GetArrayDataReference(Norms);
            ref float o0 = ref MemoryMarshal.GetArrayDataReference(Offsets);
            ref int hs = ref MemoryMarshal.GetReference(hamming);
            ref int bs = ref MemoryMarshal.GetReference(bucket);
            int i = 0;
            fixed (float* cosines = Cosines)
            {
                for (; i <= count - 8; i += 8)
                {
                    if (Sse.IsSupported && prefetchRows > 0 && i + prefetchRows + 8 <= count)
                        Prefetch(ref Unsafe.As<ulong, byte>(ref RowReference(i + prefetchRows)), 8 * rowBytes);
                    for (int k = 0; k < 8; k++)
                    {
                        if ((Unsafe.Add(ref masks, i + k) & bit) == 0)
                        {
                            Unsafe.Add(ref hs, k) = 0;
                            continue;
                        }
                        Unsafe.Add(ref hs, k) = HammingRow(ref Unsafe.As<ulong, byte>(ref RowReference(i + k)), qv0, qv1, qv2, qv3, vectors, table, low);
                    }
                    var cos = Avx2.GatherVector256(cosines, Vector256.LoadUnsafe(ref hs), 4);
                    var estimate = (norms * Vector256.LoadUnsafe(ref n0, (nuint)i) * cos) + Vector256.LoadUnsafe(ref o0, (nuint)i);
                    var b = Avx.Min(Avx.Max((one - estimate) * scale, Vector256<float>.Zero), top);
                    Avx.ConvertToVector256Int32WithTruncation(b).StoreUnsafe(ref bs);
                    for (int k = 0; k < 8; k++)
                    {
                        if ((Unsafe.Add(ref masks, i + k) & bit) == 0)
                        {
                            // Never a candidate: above every possible cut-off.
                            Unsafe.Add(ref d0, i + k) = ushort.MaxValue;
                            continue;
                        }
                        int h = Unsafe.Add(ref bs, k);
                        Unsafe.Add(ref d0, i + k) = (ushort)h;
                        Unsafe.Add(ref h0, h)++;
                        visible++;
                    }
                }
            }
            for (; i < count; i++)
            {
                if ((Unsafe.Add(ref masks, i) & bit) == 0)
                {
                    Unsafe.Add(ref d0, i) = ushort.MaxValue;
                    continue;
                }
                int h = Bucket(queryNorm, i, HammingRow(ref Unsafe.As<ulong, byte>(ref RowReference(i)), qv0, qv1, qv2, qv3, vectors, table, low));
                Unsafe.Add(ref d0, i) = (ushort)h;
                Unsafe.Add(ref h0, h)++;
                visible++;
            }
            return visible;
        }
        for (int i = 0; i < count; i++)
        {
            if (Sse.IsSupported && prefetchRows > 0 && i + prefetchRows < count)
                Prefetch(ref Unsafe.As<ulong, byte>(ref RowReference(i + prefetchRows)), rowBytes);
            if ((Unsafe.Add(ref masks, i) & bit) == 0)
            {
                Unsafe.Add(ref d0, i) = ushort.MaxValue;
                continue;
            }
            int h = Bucket(queryNorm, i, Distance(ref q0, ref RowReference(i), words));
            Unsafe.Add(ref d0, i) = (ushort)h;
            Unsafe.Add(ref h0, h)++;
            visible++;
        }
        return visible;
    }

    /// <summary>One row of up to four AVX2 vectors (1,024 bits) against the query held in registers: straight-line code, no loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int HammingRow(ref byte row, Vector256<byte> qv0, Vector256<byte> qv1, Vector256<byte> qv2, Vector256<byte> qv3, int vectors, Vector256<byte> table, Vector256<byte> low)
    {
        var x = Vector256.LoadUnsafe(ref row) ^ qv0;
        var counts = Avx2.Shuffle(table, x & low) + Avx2.Shuffle(table, Avx2.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
        if (vectors > 1)
        {
            x = Vector256.LoadUnsafe(ref row, 32) ^ qv1;
            counts += Avx2.Shuffle(table, x & low) + Avx2.Shuffle(table, Avx2.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
        }
        if (vectors > 2)
        {
            x = Vector256.LoadUnsafe(ref row, 64) ^ qv2;
            counts += Avx2.Shuffle(table, x & low) + Avx2.Shuffle(table, Avx2.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
        }
        if (vectors > 3)
        {
            x = Vector256.LoadUnsafe(ref row, 96) ^ qv3;
            counts += Avx2.Shuffle(table, x & low) + Avx2.Shuffle(table, Avx2.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
        }
        var sums = Avx2.SumAbsoluteDifferences(counts, Vector256<byte>.Zero).AsUInt64();
        var half = sums.GetLower() + sums.GetUpper();
        return (int)(half.GetElement(0) + half.GetElement(1));
    }

    /// <summary>Asks for the cache lines of <paramref name="bytes"/> bytes from <paramref name="start"/> (a hint: never faults; the array is pinned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(ref byte start, int bytes)
    {
        byte* p = (byte*)Unsafe.AsPointer(ref start);
        for (int b = 0; b < bytes; b += 64)
            Sse.Prefetch0(p + b);
    }

    /// <summary>The number of differing bits between two codes of equal length (any length).</summary>
    public static int Hamming(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        if (a.Length != b.Length)
            throw new ArgumentException($"Codes of {a.Length} and {b.Length} words cannot be compared.", nameof(b));
        ref ulong a0 = ref MemoryMarshal.GetReference(a);
        ref ulong b0 = ref MemoryMarshal.GetReference(b);
        int vectorWords = Avx2.IsSupported ? a.Length / 4 * 4 : 0;
        int sum = vectorWords > 0 ? HammingAvx2(ref a0, ref b0, vectorWords) : 0;
        for (int w = vectorWords; w < a.Length; w++)
            sum += BitOperations.PopCount(Unsafe.Add(ref a0, w) ^ Unsafe.Add(ref b0, w));
        return sum;
    }

    /// <summary>
    /// The scan kernel: the Hamming distance of two codes of <paramref name="words"/> words, a
    /// multiple of four (<see cref="Words"/>). AVX2 where present, else one <c>popcnt</c> per word.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Distance(ref ulong query, ref ulong row, int words) =>
        Avx2.IsSupported ? HammingAvx2(ref query, ref row, words) : HammingPopCount(ref query, ref row, words);

    /// <summary>
    /// XOR and <see cref="BitOperations.PopCount(ulong)"/>, four words per step into four independent
    /// sums so the adds do not wait on each other. The portable path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int HammingPopCount(ref ulong a, ref ulong b, int words)
    {
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int w = 0;
        for (; w <= words - 4; w += 4)
        {
            s0 += BitOperations.PopCount(Unsafe.Add(ref a, w) ^ Unsafe.Add(ref b, w));
            s1 += BitOperations.PopCount(Unsafe.Add(ref a, w + 1) ^ Unsafe.Add(ref b, w + 1));
            s2 += BitOperations.PopCount(Unsafe.Add(ref a, w + 2) ^ Unsafe.Add(ref b, w + 2));
            s3 += BitOperations.PopCount(Unsafe.Add(ref a, w + 3) ^ Unsafe.Add(ref b, w + 3));
        }
        for (; w < words; w++)
            s0 += BitOperations.PopCount(Unsafe.Add(ref a, w) ^ Unsafe.Add(ref b, w));
        return s0 + s1 + s2 + s3;
    }

    /// <summary>
    /// The AVX2 nibble-table popcount (<c>vpshufb</c> looks up the bit count of each 4-bit half of
    /// each byte, 64 lookups per instruction), byte counts summed across the row, then one
    /// <c>vpsadbw</c> to add the bytes up. <paramref name="words"/> must be a multiple of four.
    /// </summary>
    /// <remarks>
    /// Measured in a microbenchmark on the shared 2-core Xeon (Cascade Lake) over 50,000 1024-bit
    /// codes, with the distance store and histogram of the scan: 0.36 ms (with prefetch) against
    /// 0.58 ms for one <c>popcnt</c> per word (its best, without prefetch); <c>popcnt</c> issues on
    /// one port only, the table lookups on vectors of 32 bytes.
    /// A byte lane gains at most 8 per 32-byte step, so the bytes are flushed every 16 steps
    /// (4,096 bits) before they could overflow.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int HammingAvx2(ref ulong a, ref ulong b, int words)
    {
        var table = Vector256.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
        var low = Vector256.Create((byte)0x0f);
        ref byte pa = ref Unsafe.As<ulong, byte>(ref a);
        ref byte pb = ref Unsafe.As<ulong, byte>(ref b);
        nuint bytes = (nuint)words * sizeof(ulong);
        var total = Vector256<ulong>.Zero;
        for (nuint start = 0; start < bytes; start += 16 * 32)
        {
            var counts = Vector256<byte>.Zero;
            nuint end = Math.Min(bytes, start + (16 * 32));
            for (nuint j = start; j < end; j += 32)
            {
                var x = Vector256.LoadUnsafe(ref pa, j) ^ Vector256.LoadUnsafe(ref pb, j);
                counts += Avx2.Shuffle(table, x & low) + Avx2.Shuffle(table, Avx2.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
            }
            total += Avx2.SumAbsoluteDifferences(counts, Vector256<byte>.Zero).AsUInt64();
        }
        var half = total.GetLower() + total.GetUpper();
        return (int)(half.GetElement(0) + half.GetElement(1));
    }
}
