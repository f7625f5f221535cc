using System.Buffers.Binary;

namespace Kezekshi.Edge.Devices.Protocols.ModbusRtu;

/// <summary>The CRC-16 that closes every Modbus RTU frame.</summary>
/// <remarks>
/// Modbus over Serial Line v1.02 §2.5.1.2 and §6.2.2: polynomial 0xA001 (0x8005 reflected), initial
/// value 0xFFFF, no final XOR; the CRC is appended low byte first, the one field of the frame that is
/// not big-endian. Table-driven: one lookup per byte.
/// </remarks>
public static class ModbusCrc
{
    private static readonly ushort[] Table = BuildTable();

    /// <summary>CRC of <paramref name="data"/> as a number (its low byte goes on the wire first).</summary>
    public static ushort Compute(ReadOnlySpan<byte> data)
    {
        ushort crc = 0xFFFF;
        foreach (byte b in data)
        {
            crc = (ushort)((crc >> 8) ^ Table[(crc ^ b) & 0xFF]);
        }
        return crc;
    }

    /// <summary>Writes the CRC of the first <paramref name="length"/> bytes right after them; returns the frame length.</summary>
    public static int Append(Span<byte> frame, int length)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(frame[length..], Compute(frame[..length]));
        return length + 2;
    }

    /// <summary>True when the last two bytes of <paramref name="frame"/> are the CRC of the bytes before them.</summary>
    public static bool IsValid(ReadOnlySpan<byte> frame) =>
        frame.Length >= 3 && BinaryPrimitives.ReadUInt16LittleEndian(frame[^2..]) == Compute(frame[..^2]);

    private static ushort[] BuildTable()
    {
        var table = new ushort[256];
        for (int i = 0; i < 256; i++)
        {
            ushort crc = (ushort)i;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (ushort)((crc >> 1) ^ 0xA001) : (ushort)(crc >> 1);
            }
            table[i] = crc;
        }
        return table;
    }
}
