using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Kezekshi.Edge.Biometrics.Index;

/// <summary>
/// The int8 codes of a partition's rows, laid out for the scan kernel: rows back to back with a
/// stride padded to a multiple of 32 bytes (zeros, which add nothing to a dot product), the first
/// row 64-byte aligned, plus one scale per row. Never changed after it is built.
/// </summary>
/// <remarks>
/// Why padded and aligned: the kernel then reads whole 32-byte vectors with no tail loop, and with
/// a 192-D model (stride 192 = 3 cache lines) no load ever straddles two cache lines. The buffer is
/// a pinned array on the pinned-object heap (so the alignment holds and the GC still frees it),
/// not native memory that would need explicit freeing by whoever drops the last snapshot.
/// </remarks>
internal sealed class Int8Rows
{
    /// <summary>Alignment of the first row: one cache line.</summary>
    public const int Alignment = 64;

    /// <summary>The kernel reads this many bytes at a time; every stride is a multiple of it.</summary>
    public const int Block = 32;

    private readonly sbyte[] _buffer;
    private readonly int _offset;

    private Int8Rows(int dimensions, int count)
    {
        Dimensions = dimensions;
        Stride = StrideFor(dimensions);
        Count = count;
        _buffer = GC.AllocateArray<sbyte>((count * Stride) + Alignment, pinned: true);
        long address = Marshal.UnsafeAddrOfPinnedArrayElement(_buffer, 0).ToInt64();
        _offset = (int)((Alignment - (address % Alignment)) % Alignment);
        Scales = new float[count];
    }

    public int Dimensions { get; }

    /// <summary>Bytes from one row to the next: <see cref="Dimensions"/> rounded up to <see cref="Block"/>.</summary>
    public int Stride { get; }

    public int Count { get; }

    /// <summary>Per-row scale: value ≈ code × scale.</summary>
    public float[] Scales { get; }

    public static int StrideFor(int dimensions) => (dimensions + Block - 1) / Block * Block;

    /// <summary>The codes of row <paramref name="i"/> (its <see cref="Dimensions"/> values, without the padding).</summary>
    public ReadOnlySpan<sbyte> Row(int i) => _buffer.AsSpan(_offset + (i * Stride), Dimensions);

    /// <summary>Row <paramref name="i"/> with its zero padding: <see cref="Stride"/> bytes.</summary>
    public ReadOnlySpan<sbyte> PaddedRow(int i) => _buffer.AsSpan(_offset + (i * Stride), Stride);

    /// <summary>The first byte of row <paramref name="i"/>, unchecked: the scan loop keeps <paramref name="i"/> in range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref sbyte RowReference(int i) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_buffer), _offset + (i * Stride));

    /// <summary>Quantises <paramref name="count"/> float rows of <paramref name="dimensions"/> values.</summary>
    public static Int8Rows Quantise(ReadOnlySpan<float> vectors, int dimensions, int count)
    {
        var rows = Create(dimensions, count);
        for (int i = 0; i < count; i++)
            rows.Set(i, vectors.Slice(i * dimensions, dimensions));
        return rows;
    }

    /// <summary>Zero rows, to be filled once each with <see cref="Set"/> before the rows are published.</summary>
    public static Int8Rows Create(int dimensions, int count) => new(dimensions, count);

    /// <summary>Quantises <paramref name="vector"/> into row <paramref name="i"/> (only while building, before publishing).</summary>
    public void Set(int i, ReadOnlySpan<float> vector) => Scales[i] = Int8Quantiser.Quantise(vector, Writable(i));

    /// <summary>These rows followed by <paramref name="tail"/>'s.</summary>
    public Int8Rows Concat(Int8Rows tail)
    {
        var rows = new Int8Rows(Dimensions, Count + tail.Count);
        _buffer.AsSpan(_offset, Count * Stride).CopyTo(rows._buffer.AsSpan(rows._offset));
        tail._buffer.AsSpan(tail._offset, tail.Count * Stride).CopyTo(rows._buffer.AsSpan(rows._offset + (Count * Stride)));
        Scales.CopyTo(rows.Scales, 0);
        tail.Scales.CopyTo(rows.Scales, Count);
        return rows;
    }

    /// <summary>Only the rows in <paramref name="keep"/>, in that order.</summary>
    public Int8Rows Select(IReadOnlyList<int> keep)
    {
        var rows = new Int8Rows(Dimensions, keep.Count);
        for (int j = 0; j < keep.Count; j++)
        {
            PaddedRow(keep[j]).CopyTo(rows._buffer.AsSpan(rows._offset + (j * Stride), Stride));
            rows.Scales[j] = Scales[keep[j]];
        }
        return rows;
    }

    private Span<sbyte> Writable(int i) => _buffer.AsSpan(_offset + (i * Stride), Dimensions);
}
