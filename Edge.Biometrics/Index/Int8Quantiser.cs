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
        // Vectorised: scale, round to nearest, then narrow (|x| <= 127 after scaling by absMax, so nothing saturates).
        Span<float> scaled = vector.Length <= 1024 ? stackalloc float[vector.Length] : new float[vector.Length];
        TensorPrimitives.Multiply(vector, 127f / absMax, scaled);
        TensorPrimitives.Round(scaled, scaled);
        TensorPrimitives.Clamp(scaled, -127f, 127f, scaled);
        TensorPrimitives.ConvertTruncating<float, sbyte>(scaled, destination);
        return scale;
    }

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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MultiplyWiden(Vector128<short> a, Vector128<short> b)
    {
        var (aLow, aHigh) = Vector128.Widen(a);
        var (bLow, bHigh) = Vector128.Widen(b);
        return (aLow * bLow) + (aHigh * bHigh);
    }
}
