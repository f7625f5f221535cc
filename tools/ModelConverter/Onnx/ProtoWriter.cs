using System.Buffers.Binary;
using System.Text;

namespace Kezekshi.Edge.ModelConverter.Onnx;

/// <summary>
/// The few protobuf encodings ONNX files need: varints, length-delimited fields (strings, bytes,
/// sub-messages, packed arrays) and 32-bit floats. Fields are written in the order given, so the same
/// model always gives the same bytes.
/// </summary>
/// <remarks>Encoding rules: https://protobuf.dev/programming-guides/encoding/ (wire types 0, 2, 5).</remarks>
public sealed class ProtoWriter
{
    private const int Varint = 0;
    private const int LengthDelimited = 2;
    private const int Fixed32 = 5;

    private readonly MemoryStream _buffer = new();

    public byte[] ToArray() => _buffer.ToArray();

    private void Tag(int field, int wireType) => RawVarint((ulong)((field << 3) | wireType));

    private void RawVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _buffer.WriteByte((byte)value);
    }

    /// <summary>An int32/int64/enum field; negative values take ten bytes, as protobuf's int64 does.</summary>
    public void Int(int field, long value)
    {
        Tag(field, Varint);
        RawVarint((ulong)value);
    }

    public void Float(int field, float value)
    {
        Tag(field, Fixed32);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        _buffer.Write(bytes);
    }

    public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public void Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, LengthDelimited);
        RawVarint((ulong)value.Length);
        _buffer.Write(value);
    }

    public void Message(int field, Action<ProtoWriter> write)
    {
        var inner = new ProtoWriter();
        write(inner);
        Bytes(field, inner._buffer.GetBuffer().AsSpan(0, (int)inner._buffer.Length));
    }

    public void PackedInts(int field, IEnumerable<long> values)
    {
        var inner = new ProtoWriter();
        foreach (var v in values)
            inner.RawVarint((ulong)v);
        Bytes(field, inner._buffer.GetBuffer().AsSpan(0, (int)inner._buffer.Length));
    }

    public void PackedFloats(int field, IEnumerable<float> values)
    {
        var inner = new ProtoWriter();
        Span<byte> bytes = stackalloc byte[4];
        foreach (var v in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes, v);
            inner._buffer.Write(bytes);
        }
        Bytes(field, inner._buffer.GetBuffer().AsSpan(0, (int)inner._buffer.Length));
    }
}
