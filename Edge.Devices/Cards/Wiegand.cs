namespace Kezekshi.Edge.Devices.Cards;

/// <summary>Wiegand card formats: bit layouts, parity, and conversion to the canonical card number.</summary>
/// <remarks>
/// Wiegand-26 (the H10301 layout): bit 0 is even parity over bits 1–12, bits 1–8 the facility code,
/// bits 9–24 the card number, bit 25 odd parity over bits 13–24. Bits are numbered in transmission
/// order, most significant first, the way OSDP osdp_RAW (v2.2 §7.10) and reader manuals print them.
/// </remarks>
public static class Wiegand
{
    /// <summary>Splits a Wiegand-26 frame into facility code and card number, checking both parity bits.</summary>
    /// <param name="frame">The 26 bits right-aligned in an integer (bit 25 = first transmitted bit).</param>
    public static bool TryDecode26(uint frame, out byte facility, out ushort number)
    {
        facility = 0;
        number = 0;
        if (frame >> 26 != 0) return false;
        uint evenParity = (frame >> 25) & 1;
        uint oddParity = frame & 1;
        uint firstHalf = (frame >> 13) & 0xFFF;  // bits 1–12
        uint secondHalf = (frame >> 1) & 0xFFF;  // bits 13–24
        if (((uint)System.Numerics.BitOperations.PopCount(firstHalf) + evenParity) % 2 != 0) return false;
        if (((uint)System.Numerics.BitOperations.PopCount(secondHalf) + oddParity) % 2 != 1) return false;
        facility = (byte)((frame >> 17) & 0xFF);
        number = (ushort)((frame >> 1) & 0xFFFF);
        return true;
    }

    /// <summary>Builds a Wiegand-26 frame with correct parity (what a reader or simulator sends).</summary>
    public static uint Encode26(byte facility, ushort number)
    {
        uint data = ((uint)facility << 16) | number;              // 24 data bits
        uint firstHalf = data >> 12;
        uint secondHalf = data & 0xFFF;
        uint even = (uint)System.Numerics.BitOperations.PopCount(firstHalf) & 1;
        uint odd = ((uint)System.Numerics.BitOperations.PopCount(secondHalf) & 1) ^ 1;
        return (even << 25) | (data << 1) | odd;
    }

    /// <summary>Canonical card number of a Wiegand-26 read: facility × 65536 + number.</summary>
    public static ulong CanonicalNumber(byte facility, ushort number) => ((ulong)facility << 16) | number;

    /// <summary>The facility/number form printed on cards ("123,45678") from a canonical number of a 26-bit card.</summary>
    public static string FormatFacilityNumber(ulong canonical) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{(canonical >> 16) & 0xFF:D3},{canonical & 0xFFFF:D5}");

    /// <summary>
    /// Packs bits given MSB-first in bytes (as OSDP carries them) into an integer, right-aligned.
    /// Returns false if more than 64 bits or the buffer is too short.
    /// </summary>
    public static bool TryPackBits(ReadOnlySpan<byte> msbFirst, int bitCount, out ulong value)
    {
        value = 0;
        if (bitCount is <= 0 or > 64 || msbFirst.Length * 8 < bitCount) return false;
        for (int i = 0; i < bitCount; i++)
        {
            int bit = (msbFirst[i >> 3] >> (7 - (i & 7))) & 1;
            value = (value << 1) | (uint)bit;
        }
        return true;
    }

    /// <summary>
    /// Canonical card number from raw reader bits: Wiegand-26 is checked and decoded; other lengths
    /// (e.g. 32- or 56-bit Mifare UIDs) are taken whole. Returns false on a parity error.
    /// </summary>
    public static bool TryCanonicalFromBits(ulong bits, int bitCount, out ulong canonical)
    {
        canonical = 0;
        if (bitCount == 26)
        {
            if (!TryDecode26((uint)bits, out var fc, out var num)) return false;
            canonical = CanonicalNumber(fc, num);
            return true;
        }
        if (bitCount is <= 0 or > 64) return false;
        canonical = bits;
        return true;
    }
}
