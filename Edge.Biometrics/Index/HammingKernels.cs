using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kezekshi.Edge.Biometrics.Index;

/// <summary>
/// The vector kernels of the binary scan: Hamming distances of rows of packed bits to a query held
/// in registers, one row at a time or eight at once. Two instruction sets, one shape
/// (<see cref="IKernel"/>), so <see cref="BinaryCodes"/> has one scan loop that the JIT compiles
/// once per kernel (generic over a struct: no virtual calls).
/// </summary>
/// <remarks>
/// Both count bits with the nibble table (<c>vpshufb</c> looks up the bit count of each 4-bit half
/// of each byte), fold each row's byte counts with one <c>vpsadbw</c>, and for eight rows pack four
/// rows' folds into the 16-bit slots of 64-bit lanes and add the lanes, so the eight distances leave
/// as one 16-byte store instead of eight horizontal sums.
/// </remarks>
internal static class HammingKernels
{
    /// <summary>A kernel with the query loaded.</summary>
    internal interface IKernel
    {
        /// <summary>The distances of the eight rows of <paramref name="rowBytes"/> bytes each from <paramref name="first"/>.</summary>
        Vector128<ushort> Eight(ref byte first, int rowBytes);

        /// <summary>The distance of the row at <paramref name="row"/>.</summary>
        int One(ref byte row);
    }

    /// <summary>AVX2, rows of one to four 32-byte vectors (up to 1,024 bits).</summary>
    internal readonly struct Narrow : IKernel
    {
        private readonly Vector256<byte> _q0, _q1, _q2, _q3;
        private readonly int _vectors;

        /// <summary>Whether this CPU runs it for rows of <paramref name="words"/> 64-bit words.</summary>
        public static bool Fits(int words) => Avx2.IsSupported && words is > 0 and <= 16 && words % 4 == 0;

        public Narrow(ReadOnlySpan<ulong> query)
        {
            _vectors = query.Length / 4;
            ref byte q = ref Unsafe.As<ulong, byte>(ref MemoryMarshal.GetReference(query));
            _q0 = Vector256.LoadUnsafe(ref q);
            _q1 = _vectors > 1 ? Vector256.LoadUnsafe(ref q, 32) : default;
            _q2 = _vectors > 2 ? Vector256.LoadUnsafe(ref q, 64) : default;
            _q3 = _vectors > 3 ? Vector256.LoadUnsafe(ref q, 96) : default;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<ushort> Eight(ref byte first, int rowBytes)
        {
            var low4 = Fold4(Counts(ref first), Counts(ref Unsafe.Add(ref first, rowBytes)),
                Counts(ref Unsafe.Add(ref first, 2 * rowBytes)), Counts(ref Unsafe.Add(ref first, 3 * rowBytes)));
            var high4 = Fold4(Counts(ref Unsafe.Add(ref first, 4 * rowBytes)), Counts(ref Unsafe.Add(ref first, 5 * rowBytes)),
                Counts(ref Unsafe.Add(ref first, 6 * rowBytes)), Counts(ref Unsafe.Add(ref first, 7 * rowBytes)));
            // low4 = [rows 0-3 of lanes 0+2 | rows 0-3 of lanes 1+3] (16-bit), high4 the same for rows 4-7.
            return (Sse2.UnpackLow(low4, high4) + Sse2.UnpackHigh(low4, high4)).AsUInt16();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int One(ref byte row)
        {
            var sums = Avx2.SumAbsoluteDifferences(Counts(ref row), Vector256<byte>.Zero).AsUInt64();
            var half = sums.GetLower() + sums.GetUpper();
            return (int)(half.GetElement(0) + half.GetElement(1));
        }

        /// <summary>The per-byte bit counts of (row XOR query) over the row's vectors, summed bytewise (at most 32 a byte: no overflow).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector256<byte> Counts(ref byte row)
        {
            var table = Vector256.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
            var low = Vector256.Create((byte)0x0f);
            var x = Vector256.LoadUnsafe(ref row) ^ _q0;
            var counts = Avx2.Shuffle(table, x & low) + Avx2.Shuffle(table, Avx2.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
            if (_vectors > 1)
            {
                x = Vector256.LoadUnsafe(ref row, 32) ^ _q1;
                counts += Avx2.Shuffle(table, x & low) + Avx2.Shuffle(table, Avx2.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
            }
            if (_vectors > 2)
            {
                x = Vector256.LoadUnsafe(ref row, 64) ^ _q2;
                counts += Avx2.Shuffle(table, x & low) + Avx2.Shuffle(table, Avx2.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
            }
            if (_vectors > 3)
            {
                x = Vector256.LoadUnsafe(ref row, 96) ^ _q3;
                counts += Avx2.Shuffle(table, x & low) + Avx2.Shuffle(table, Avx2.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
            }
            return counts;
        }

        /// <summary>
        /// Four rows' byte counts to 16-bit partial sums: <c>vpsadbw</c> leaves each 64-bit lane's
        /// sum (at most 256) in its low 16 bits, the rows are shifted into the four 16-bit slots of
        /// each lane, and the two 128-bit halves are added.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<ulong> Fold4(Vector256<byte> a, Vector256<byte> b, Vector256<byte> c, Vector256<byte> d)
        {
            var zero = Vector256<byte>.Zero;
            var packed = Avx2.SumAbsoluteDifferences(a, zero).AsUInt64()
                | Avx2.ShiftLeftLogical(Avx2.SumAbsoluteDifferences(b, zero).AsUInt64(), 16)
                | Avx2.ShiftLeftLogical(Avx2.SumAbsoluteDifferences(c, zero).AsUInt64(), 32)
                | Avx2.ShiftLeftLogical(Avx2.SumAbsoluteDifferences(d, zero).AsUInt64(), 48);
            return packed.GetLower() + packed.GetUpper();
        }
    }

    /// <summary>
    /// AVX-512 (BW), rows of exactly 512 bits, one vector a row: the 1,024-D head and tail. Half the
    /// instructions of <see cref="Narrow"/> for the same rows, which counts when the core is shared.
    /// </summary>
    internal readonly struct Wide : IKernel
    {
        private readonly Vector512<byte> _q;

        /// <summary>Whether this CPU runs it for rows of <paramref name="words"/> 64-bit words.</summary>
        public static bool Fits(int words) => Avx512BW.IsSupported && words == Vector512<byte>.Count / sizeof(ulong);

        public Wide(ReadOnlySpan<ulong> query) => _q = Vector512.LoadUnsafe(ref Unsafe.As<ulong, byte>(ref MemoryMarshal.GetReference(query)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<ushort> Eight(ref byte first, int rowBytes)
        {
            var low4 = Fold4(Lanes(ref first), Lanes(ref Unsafe.Add(ref first, rowBytes)),
                Lanes(ref Unsafe.Add(ref first, 2 * rowBytes)), Lanes(ref Unsafe.Add(ref first, 3 * rowBytes)));
            var high4 = Fold4(Lanes(ref Unsafe.Add(ref first, 4 * rowBytes)), Lanes(ref Unsafe.Add(ref first, 5 * rowBytes)),
                Lanes(ref Unsafe.Add(ref first, 6 * rowBytes)), Lanes(ref Unsafe.Add(ref first, 7 * rowBytes)));
            return (Sse2.UnpackLow(low4, high4) + Sse2.UnpackHigh(low4, high4)).AsUInt16();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int One(ref byte row) => (int)Vector512.Sum(Lanes(ref row));

        /// <summary>The bit count of (row XOR query) as eight 64-bit partial sums (one <c>vpsadbw</c>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector512<ulong> Lanes(ref byte row)
        {
            var lane = Vector128.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
            var half = Vector256.Create(lane, lane);
            var table = Vector512.Create(half, half);
            var low = Vector512.Create((byte)0x0f);
            var x = Vector512.LoadUnsafe(ref row) ^ _q;
            var counts = Avx512BW.Shuffle(table, x & low) + Avx512BW.Shuffle(table, Avx512BW.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
            return Avx512BW.SumAbsoluteDifferences(counts, Vector512<byte>.Zero).AsUInt64();
        }

        /// <summary>Four rows' eight partial sums (at most 64 each) to the 16-bit slots of two 64-bit lanes (at most 512 a slot: no overflow).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<ulong> Fold4(Vector512<ulong> a, Vector512<ulong> b, Vector512<ulong> c, Vector512<ulong> d)
        {
            var packed = a | Vector512.ShiftLeft(b, 16) | Vector512.ShiftLeft(c, 32) | Vector512.ShiftLeft(d, 48);
            var quarter = packed.GetLower() + packed.GetUpper();
            return quarter.GetLower() + quarter.GetUpper();
        }
    }
}
