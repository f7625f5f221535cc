namespace Kezekshi.Edge.Devices.Protocols.Osdp;

/// <summary>The two integrity checks an OSDP packet may carry: CRC-16 and the 1-byte checksum.</summary>
/// <remarks>
/// OSDP v2.2 §5.8 and Annex A: CRC-16/AUG-CCITT, polynomial 0x1021, initial value 0x1D0F, not reflected,
/// no final XOR, sent least significant byte first. Check value of ASCII "123456789" is 0xE5CC.
/// The checksum (§5.7, CTRL bit 2 clear) is the two's complement of the 8-bit sum of all preceding bytes.
/// </remarks>
public static class OsdpChecks
{
    private static readonly ushort[] s_table = BuildTable();

    /// <summary>CRC-16 over <paramref name="data"/> as OSDP defines it.</summary>
    public static ushort Crc16(ReadOnlySpan<byte> data)
    {
        ushort crc = 0x1D0F;
        var table = s_table;
        foreach (byte b in data)
        {
            crc = (ushort)((crc << 8) ^ table[((crc >> 8) ^ b) & 0xFF]);
        }
        return crc;
    }

    /// <summary>Two's complement of the byte sum, so that the sum of all bytes including it is 0.</summary>
    public static byte Checksum(ReadOnlySpan<byte> data)
    {
        int sum = 0;
        foreach (byte b in data) sum += b;
        return (byte)(-sum & 0xFF);
    }

    private static ushort[] BuildTable()
    {
        var table = new ushort[256];
        for (int i = 0; i < 256; i++)
        {
            ushort value = (ushort)(i << 8);
            for (int bit = 0; bit < 8; bit++)
            {
                value = (value & 0x8000) != 0 ? (ushort)((value << 1) ^ 0x1021) : (ushort)(value << 1);
            }
            table[i] = value;
        }
        return table;
    }
}
