using System.Buffers.Binary;

namespace Kezekshi.Edge.Devices.Protocols.ModbusRtu;

/// <summary>Conversions between coil/register values and their wire form.</summary>
/// <remarks>
/// Coils and discrete inputs are packed eight per byte, the first item in the least significant bit,
/// unused high bits of the last byte zero (Application Protocol v1.1b3 §6.1, §6.11). Registers are
/// 16-bit big-endian (§4.2).
/// </remarks>
public static class ModbusData
{
    /// <summary>Packs <paramref name="bits"/> LSB first into <paramref name="destination"/>; returns the bytes written.</summary>
    public static int PackCoils(ReadOnlySpan<bool> bits, Span<byte> destination)
    {
        int bytes = (bits.Length + 7) / 8;
        destination[..bytes].Clear();
        for (int i = 0; i < bits.Length; i++)
        {
            if (bits[i]) destination[i >> 3] |= (byte)(1 << (i & 7));
        }
        return bytes;
    }

    /// <summary>Unpacks <paramref name="destination"/>.Length bits from LSB-first packed bytes.</summary>
    public static void UnpackCoils(ReadOnlySpan<byte> packed, Span<bool> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = (packed[i >> 3] & (1 << (i & 7))) != 0;
        }
    }

    /// <summary>Writes registers big-endian; returns the bytes written (2 per register).</summary>
    public static int WriteRegisters(ReadOnlySpan<ushort> registers, Span<byte> destination)
    {
        for (int i = 0; i < registers.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[(2 * i)..], registers[i]);
        }
        return registers.Length * 2;
    }

    /// <summary>Reads <paramref name="destination"/>.Length big-endian registers.</summary>
    public static void ReadRegisters(ReadOnlySpan<byte> bigEndian, Span<ushort> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = BinaryPrimitives.ReadUInt16BigEndian(bigEndian[(2 * i)..]);
        }
    }
}
