using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kezekshi.Edge.Biometrics.Index;

/// <summary>
/// Symmetric int8 quantisation with one scale per vector, and the widening int8 dot product.
/// </summary>
/// <remarks>
/// TensorPrimitives.Dot over sbyte accumulates in sbyte (it would overflow), so the int8 kernel is
/// written here: AVX2 vpmaddubsw/vpmaddwd (32 codes per step, exact in int32),
/// with a portable Vector128 path elsewhere. A unit vector's components are at most 1 in size, and
/// the per-vector scale keeps the full int8 range for each template.
/// </remarks>
internal static class Int8Quantiser
{
    /// <summary>Writes the quantised vector into <paramref name="destination"/> and returns its scale (value = code × scale).</summary>
    public static float Quantise(ReadOnlySpan<float> vector, Span<sbyte> destination)
    {
        float maxMagnitude = TensorPrimitives.MaxMagnitude(vector);
        float absMax = MathF.Abs(maxMagnitude);
        if (absMax == 0f || !float.IsFinite(absMax))
        {
            destination.Clear();
            return 0f;
        }
        float scale = absMax / 127f;
        float factor = 127f / absMax;
        int i = 0;
        if (Avx2.IsSupported && vector.Length == destination.Length)
        {
            // One pass, 32 values a step: scale, round half to even, clamp, then narrow int32 →
            // int16 → int8. The same operations as the portable passes below (one float multiply,
            // Round's default ToEven rounding, |x| <= 127 so nothing saturates), so the same
            // codes bit for bit; the portable passes make five trips over the row and the last one,
            // float → sbyte, is not vectorised. This runs for every template at start-up.
            ref float v0 = ref MemoryMarshal.GetReference(vector);
            ref sbyte d0 = ref MemoryMarshal.GetReference(destination);
            var f = Vector256.Create(factor);
            var high = Vector256.Create(127f);
            var low = Vector256.Create(-127f);
            // vpackssdw / vpacksswb work inside each 128-bit lane; this puts the 4-byte groups back in order.
            var order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
            for (; i <= vector.Length - 32; i += 32)
            {
                var a = Convert(Vector256.LoadUnsafe(ref v0, (nuint)i), f, high, low);
                var b = Convert(Vector256.LoadUnsafe(ref v0, (nuint)(i + 8)), f, high, low);
                var c = Convert(Vector256.LoadUnsafe(ref v0, (nuint)(i + 16)), f, high, low);
                var d = Convert(Vector256.LoadUnsafe(ref v0, (nuint)(i + 24)), f, high, low);
                var bytes = Avx2.PackSignedSaturate(Avx2.PackSignedSaturate(a, b), Avx2.PackSignedSaturate(c, d));
                Avx2.PermuteVar8x32(bytes.AsInt32(), order).AsSByte().StoreUnsafe(ref d0, (nuint)i);
            }
        }
        if (i < vector.Length)
        {
            // Vectorised: scale, round to nearest, then narrow (|x| <= 127 after scaling by absMax, so nothing saturates).
            var rest = vector[i..];
            Span<float> scaled = rest.Length <= 1024 ? stackalloc float[rest.Length] : new float[rest.Length];
            TensorPrimitives.Multiply(rest, factor, scaled);
            TensorPrimitives.Round(scaled, scaled);
            TensorPrimitives.Clamp(scaled, -127f, 127f, scaled);
            TensorPrimitives.ConvertTruncating<float, sbyte>(scaled, destination[i..]);
        }
        return scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Convert(Vector256<float> x, Vector256<float> factor, Vector256<float> high, Vector256<float> low) =>
        Avx.ConvertToVector256Int32(Avx.Min(Avx.Max(Avx.RoundToNearestInteger(x * factor), low), high));

    /// <summary>The exact integer dot product of two int8 vectors of equal length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Dot(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        int length = a.Length;
        ref sbyte pa = ref MemoryMarshal.GetReference(a);
        ref sbyte pb = ref MemoryMarshal.GetReference(b);
        int i = 0;
        int sum = 0;
        if (Avx2.IsSupported && length >= 32)
        {
            // vpmaddubsw multiplies unsigned by signed bytes: |a| times b-with-a's-sign is a*b, and
            // with codes in [-127, 127] a pair sum is at most 32258, so the int16 step never saturates.
            var ones = Vector256.Create((short)1);
            var acc = Vector256<int>.Zero;
            for (; i <= length - 32; i += 32)
            {
                var va = Vector256.LoadUnsafe(ref pa, (nuint)i);
                var vb = Vector256.LoadUnsafe(ref pb, (nuint)i);
                var pairs = Avx2.MultiplyAddAdjacent(Avx2.Abs(va), Avx2.Sign(vb, va));
                acc = Avx2.Add(acc, Avx2.MultiplyAddAdjacent(pairs, ones));
            }
            sum = Vector256.Sum(acc);
        }
        else if (Vector128.IsHardwareAccelerated && length >= 16)
        {
            var acc = Vector128<int>.Zero;
            for (; i <= length - 16; i += 16)
            {
                var (aLow, aHigh) = Vector128.Widen(Vector128.LoadUnsafe(ref pa, (nuint)i));
                var (bLow, bHigh) = Vector128.Widen(Vector128.LoadUnsafe(ref pb, (nuint)i));
                acc += MultiplyWiden(aLow, bLow) + MultiplyWiden(aHigh, bHigh);
            }
            sum = Vector128.Sum(acc);
        }
        for (; i < length; i++)
            sum += Unsafe.Add(ref pa, i) * Unsafe.Add(ref pb, i);
        return sum;
    }

    /// <summary>
    /// The exact int32 dot products of one query with FOUR consecutive rows (row r starts
    /// <paramref name="stride"/> × r bytes after <paramref name="row0"/>), as one vector [r0, r1, r2, r3].
    /// </summary>
    /// <param name="query">The query codes, zero-padded to <paramref name="stride"/> bytes.</param>
    /// <param name="queryMagnitude">|code| of each query byte (precomputed once per search, not per row).</param>
    /// <param name="stride">A multiple of 32 (<see cref="Int8Rows.Stride"/>); padding bytes are zero on both sides.</param>
    /// <remarks>
    /// Why four rows at a time: each query vector is loaded once for four rows, the four
    /// accumulators are independent (no add waits on the previous one), and the four horizontal
    /// sums collapse into one vphaddd tree instead of a full reduction per row.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot4(ref sbyte query, ref byte queryMagnitude, ref sbyte row0, int stride)
    {
        ref sbyte row1 = ref Unsafe.Add(ref row0, stride);
        ref sbyte row2 = ref Unsafe.Add(ref row1, stride);
        return Dot4Rows(ref query, ref queryMagnitude, ref row0, ref row1, ref row2, ref Unsafe.Add(ref row2, stride), stride);
    }

    /// <summary>
    /// The same four-row kernel for four rows anywhere (the candidates of the binary first pass are
    /// scattered): [row0, row1, row2, row3], each <paramref name="length"/> bytes, a multiple of 32
    /// (padding zero on both sides).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot4Rows(ref sbyte query, ref byte queryMagnitude, ref sbyte row0, ref sbyte row1, ref sbyte row2, ref sbyte row3, int length)
    {
        if (Avx2.IsSupported)
        {
            var ones = Vector256.Create((short)1);
            var acc0 = Vector256<int>.Zero;
            var acc1 = Vector256<int>.Zero;
            var acc2 = Vector256<int>.Zero;
            var acc3 = Vector256<int>.Zero;
            for (nuint j = 0; j < (nuint)length; j += 32)
            {
                // |q| × (row with q's sign) = q × row per byte; vpmaddubsw pairs stay within int16
                // because codes are in [-127, 127], vpmaddwd by ones widens the pairs to int32.
                var q = Vector256.LoadUnsafe(ref query, j);
                var magnitude = Vector256.LoadUnsafe(ref queryMagnitude, j);
                acc0 = Avx2.Add(acc0, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(magnitude, Avx2.Sign(Vector256.LoadUnsafe(ref row0, j), q)), ones));
                acc1 = Avx2.Add(acc1, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(magnitude, Avx2.Sign(Vector256.LoadUnsafe(ref row1, j), q)), ones));
                acc2 = Avx2.Add(acc2, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(magnitude, Avx2.Sign(Vector256.LoadUnsafe(ref row2, j), q)), ones));
                acc3 = Avx2.Add(acc3, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(magnitude, Avx2.Sign(Vector256.LoadUnsafe(ref row3, j), q)), ones));
            }
            // hadd(hadd(a0, a1), hadd(a2, a3)) = [a0 lo, a1 lo, a2 lo, a3 lo | the same for the high lanes].
            var sums = Avx2.HorizontalAdd(Avx2.HorizontalAdd(acc0, acc1), Avx2.HorizontalAdd(acc2, acc3));
            return sums.GetLower() + sums.GetUpper();
        }
        var q0 = MemoryMarshal.CreateReadOnlySpan(ref query, length);
        return Vector128.Create(
            Dot(q0, MemoryMarshal.CreateReadOnlySpan(ref row0, length)),
            Dot(q0, MemoryMarshal.CreateReadOnlySpan(ref row1, length)),
            Dot(q0, MemoryMarshal.CreateReadOnlySpan(ref row2, length)),
            Dot(q0, MemoryMarshal.CreateReadOnlySpan(ref row3, length)));
    }

    /// <summary>|code| of each byte, for <see cref="Dot4"/> (codes are in [-127, 127], so no overflow).</summary>
    public static void Magnitudes(ReadOnlySpan<sbyte> codes, Span<byte> destination)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= codes.Length - Vector256<sbyte>.Count; i += Vector256<sbyte>.Count)
                Vector256.Abs(Vector256.Create(codes.Slice(i, Vector256<sbyte>.Count))).AsByte().CopyTo(destination.Slice(i));
        for (; i < codes.Length; i++)
            destination[i] = (byte)Math.Abs(codes[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MultiplyWiden(Vector128<short> a, Vector128<short> b)
    {
        var (aLow, aHigh) = Vector128.Widen(a);
        var (bLow, bHigh) = Vector128.Widen(b);
        return (aLow * bLow) + (aHigh * bHigh);
    }
}
