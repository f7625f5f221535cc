using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
    private readonly ulong[] _codes;

    private BinaryCodes(int dimensions, int count, float[] centre, ulong[] codes)
    {
        Dimensions = dimensions;
        Count = count;
        Words = WordsFor(dimensions);
        Centre = centre;
        _codes = codes;
    }

    public int Dimensions { get; }

    public int Count { get; }

    /// <summary>64-bit words per row; bits past <see cref="Dimensions"/> are zero in every code.</summary>
    public int Words { get; }

    /// <summary>The mean of the rows these codes were made from.</summary>
    public float[] Centre { get; }

    public static int WordsFor(int dimensions) => (dimensions + 63) / 64;

    /// <summary>The code of row <paramref name="i"/>.</summary>
    public ReadOnlySpan<ulong> Row(int i) => _codes.AsSpan(i * Words, Words);

    /// <summary>The first word of row <paramref name="i"/>, unchecked: the scan keeps <paramref name="i"/> in range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ulong RowReference(int i) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_codes), i * Words);

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
        int words = WordsFor(dimensions);
        var codes = new ulong[count * words];
        for (int i = 0; i < count; i++)
            Encode(vectors.Slice(i * dimensions, dimensions), centre, codes.AsSpan(i * words, words));
        return new BinaryCodes(dimensions, count, centre, codes);
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

    /// <summary>The number of differing bits between two codes of equal length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Hamming(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        if (a.Length != b.Length)
            throw new ArgumentException($"Codes of {a.Length} and {b.Length} words cannot be compared.", nameof(b));
        return Hamming(ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b), a.Length);
    }

    /// <summary>
    /// The Hamming kernel: XOR and <see cref="BitOperations.PopCount(ulong)"/> (one <c>popcnt</c>
    /// per word), four words per step into four independent sums so the adds do not wait on each other.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Hamming(ref ulong a, ref ulong b, int words)
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
}
