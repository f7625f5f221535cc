using System.Buffers.Binary;

namespace Kezekshi.Edge.Devices.Protocols.Osdp;

/// <summary>osdp_NAK: the error code (first data byte; further bytes are code-specific and ignored).</summary>
/// <remarks>OSDP v2.2 §7.3.</remarks>
public readonly record struct OsdpNak(OsdpNakCode ErrorCode)
{
    /// <summary>Parses a NAK payload.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out OsdpNak nak)
    {
        nak = default;
        if (data.IsEmpty) return false;
        nak = new OsdpNak((OsdpNakCode)data[0]);
        return true;
    }

    /// <summary>Writes the payload; returns 1.</summary>
    public int Write(Span<byte> destination)
    {
        if (destination.IsEmpty) throw new ArgumentException("Destination too small.", nameof(destination));
        destination[0] = (byte)ErrorCode;
        return 1;
    }
}

/// <summary>osdp_PDID (12 bytes): vendor code (IEEE OUI, 3 bytes), model, version, serial number (4 bytes LE), firmware major/minor/build.</summary>
/// <remarks>OSDP v2.2 §7.4.</remarks>
public sealed record OsdpPdId(uint VendorCode, byte ModelNumber, byte Version, uint SerialNumber, byte FirmwareMajor, byte FirmwareMinor, byte FirmwareBuild)
{
    /// <summary>Payload length.</summary>
    public const int Length = 12;

    /// <summary>Parses a PDID payload.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out OsdpPdId? id)
    {
        id = null;
        if (data.Length < Length) return false;
        uint vendor = (uint)(data[0] | (data[1] << 8) | (data[2] << 16));
        id = new OsdpPdId(vendor, data[3], data[4], BinaryPrimitives.ReadUInt32LittleEndian(data[5..]), data[9], data[10], data[11]);
        return true;
    }

    /// <summary>Writes the payload; returns <see cref="Length"/>.</summary>
    public int Write(Span<byte> destination)
    {
        if (destination.Length < Length) throw new ArgumentException("Destination too small.", nameof(destination));
        destination[0] = (byte)VendorCode;
        destination[1] = (byte)(VendorCode >> 8);
        destination[2] = (byte)(VendorCode >> 16);
        destination[3] = ModelNumber;
        destination[4] = Version;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[5..], SerialNumber);
        destination[9] = FirmwareMajor;
        destination[10] = FirmwareMinor;
        destination[11] = FirmwareBuild;
        return Length;
    }
}

/// <summary>One osdp_PDCAP triplet: function code, compliance level, number of items.</summary>
/// <remarks>OSDP v2.2 §7.5, Table "Capability function codes" (e.g. 4 = reader LED control, 5 = audible output, 9 = check character support, 10 = receive buffer size).</remarks>
public readonly record struct OsdpCapability(byte FunctionCode, byte Compliance, byte NumberOf);

/// <summary>osdp_PDCAP: a list of capability triplets.</summary>
/// <remarks>OSDP v2.2 §7.5.</remarks>
public sealed class OsdpPdCapabilities
{
    /// <summary>Creates the report.</summary>
    public OsdpPdCapabilities(IReadOnlyList<OsdpCapability> capabilities) => Capabilities = capabilities;

    /// <summary>The triplets in the order sent.</summary>
    public IReadOnlyList<OsdpCapability> Capabilities { get; }

    /// <summary>Payload length.</summary>
    public int Length => Capabilities.Count * 3;

    /// <summary>Parses a PDCAP payload (a multiple of 3 bytes).</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out OsdpPdCapabilities? capabilities)
    {
        capabilities = null;
        if (data.Length % 3 != 0) return false;
        var list = new OsdpCapability[data.Length / 3];
        for (int i = 0; i < list.Length; i++) list[i] = new OsdpCapability(data[i * 3], data[i * 3 + 1], data[i * 3 + 2]);
        capabilities = new OsdpPdCapabilities(list);
        return true;
    }

    /// <summary>Writes the payload; returns <see cref="Length"/>.</summary>
    public int Write(Span<byte> destination)
    {
        if (destination.Length < Length) throw new ArgumentException("Destination too small.", nameof(destination));
        for (int i = 0; i < Capabilities.Count; i++)
        {
            destination[i * 3] = Capabilities[i].FunctionCode;
            destination[i * 3 + 1] = Capabilities[i].Compliance;
            destination[i * 3 + 2] = Capabilities[i].NumberOf;
        }
        return Length;
    }
}

/// <summary>osdp_LSTATR (2 bytes): tamper status, power status (0 normal, 1 tamper / power failure).</summary>
/// <remarks>OSDP v2.2 §7.6.</remarks>
public readonly record struct OsdpLocalStatus(bool Tamper, bool PowerFailure)
{
    /// <summary>Payload length.</summary>
    public const int Length = 2;

    /// <summary>Parses an LSTATR payload.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out OsdpLocalStatus status)
    {
        status = default;
        if (data.Length < Length || data[0] > 1 || data[1] > 1) return false;
        status = new OsdpLocalStatus(data[0] == 1, data[1] == 1);
        return true;
    }

    /// <summary>Writes the payload; returns <see cref="Length"/>.</summary>
    public int Write(Span<byte> destination)
    {
        if (destination.Length < Length) throw new ArgumentException("Destination too small.", nameof(destination));
        destination[0] = Tamper ? (byte)1 : (byte)0;
        destination[1] = PowerFailure ? (byte)1 : (byte)0;
        return Length;
    }
}

/// <summary>
/// osdp_RAW: reader number, format code (0 = raw bits, 1 = Wiegand), bit count (LSB first), then the bits
/// MSB-first, padded to whole bytes. Points into the buffer it was parsed from.
/// </summary>
/// <remarks>OSDP v2.2 §7.10.</remarks>
public readonly ref struct OsdpRawCardData
{
    /// <summary>Creates the report.</summary>
    public OsdpRawCardData(byte readerNumber, byte formatCode, ushort bitCount, ReadOnlySpan<byte> bits)
    {
        ReaderNumber = readerNumber;
        FormatCode = formatCode;
        BitCount = bitCount;
        Bits = bits;
    }

    /// <summary>Reader number on the PD (0 for the first).</summary>
    public byte ReaderNumber { get; }
    /// <summary>0 = raw, unspecified format; 1 = Wiegand.</summary>
    public byte FormatCode { get; }
    /// <summary>Number of valid bits in <see cref="Bits"/>.</summary>
    public ushort BitCount { get; }
    /// <summary>The bits, first transmitted bit in the MSB of the first byte.</summary>
    public ReadOnlySpan<byte> Bits { get; }
    /// <summary>Payload length.</summary>
    public int Length => 4 + Bits.Length;

    /// <summary>Parses a RAW payload; the byte count must match the bit count.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out OsdpRawCardData raw)
    {
        raw = default;
        if (data.Length < 4) return false;
        ushort bitCount = BinaryPrimitives.ReadUInt16LittleEndian(data[2..]);
        int bytes = (bitCount + 7) / 8;
        if (bitCount == 0 || data.Length - 4 != bytes) return false;
        raw = new OsdpRawCardData(data[0], data[1], bitCount, data.Slice(4, bytes));
        return true;
    }

    /// <summary>Writes the payload; returns <see cref="Length"/>.</summary>
    public int Write(Span<byte> destination)
    {
        if (destination.Length < Length) throw new ArgumentException("Destination too small.", nameof(destination));
        destination[0] = ReaderNumber;
        destination[1] = FormatCode;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], BitCount);
        Bits.CopyTo(destination[4..]);
        return Length;
    }

    /// <summary>Writes <paramref name="bitCount"/> bits of <paramref name="value"/> (right-aligned) MSB-first into <paramref name="destination"/>; returns bytes used.</summary>
    public static int PackBits(ulong value, int bitCount, Span<byte> destination)
    {
        if (bitCount is <= 0 or > 64) throw new ArgumentOutOfRangeException(nameof(bitCount));
        int bytes = (bitCount + 7) / 8;
        destination[..bytes].Clear();
        for (int i = 0; i < bitCount; i++)
        {
            if (((value >> (bitCount - 1 - i)) & 1) != 0) destination[i >> 3] |= (byte)(0x80 >> (i & 7));
        }
        return bytes;
    }
}

/// <summary>osdp_FMT: reader number, read direction (0 forward, 1 reverse), character count, ASCII characters.</summary>
/// <remarks>OSDP v2.2 §7.11 (deprecated in later versions, still sent by many readers).</remarks>
public readonly ref struct OsdpFormattedCardData
{
    /// <summary>Creates the report.</summary>
    public OsdpFormattedCardData(byte readerNumber, byte direction, ReadOnlySpan<byte> characters)
    {
        ReaderNumber = readerNumber;
        Direction = direction;
        Characters = characters;
    }

    /// <summary>Reader number on the PD.</summary>
    public byte ReaderNumber { get; }
    /// <summary>0 = forward read, 1 = reverse read.</summary>
    public byte Direction { get; }
    /// <summary>The ASCII characters.</summary>
    public ReadOnlySpan<byte> Characters { get; }
    /// <summary>Payload length.</summary>
    public int Length => 3 + Characters.Length;

    /// <summary>Parses an FMT payload; the character count must match.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out OsdpFormattedCardData fmt)
    {
        fmt = default;
        if (data.Length < 3 || data[2] != data.Length - 3) return false;
        fmt = new OsdpFormattedCardData(data[0], data[1], data[3..]);
        return true;
    }

    /// <summary>Writes the payload; returns <see cref="Length"/>.</summary>
    public int Write(Span<byte> destination)
    {
        if (destination.Length < Length || Characters.Length > 255) throw new ArgumentException("Destination too small or too many characters.", nameof(destination));
        destination[0] = ReaderNumber;
        destination[1] = Direction;
        destination[2] = (byte)Characters.Length;
        Characters.CopyTo(destination[3..]);
        return Length;
    }
}

/// <summary>osdp_KEYPAD: reader number, digit count, ASCII digits ('*' is sent as 0x7F and '#' as 0x0D).</summary>
/// <remarks>OSDP v2.2 §7.12.</remarks>
public readonly ref struct OsdpKeypadData
{
    /// <summary>Creates the report.</summary>
    public OsdpKeypadData(byte readerNumber, ReadOnlySpan<byte> digits)
    {
        ReaderNumber = readerNumber;
        Digits = digits;
    }

    /// <summary>Reader number on the PD.</summary>
    public byte ReaderNumber { get; }
    /// <summary>Keys as sent on the wire.</summary>
    public ReadOnlySpan<byte> Digits { get; }
    /// <summary>Payload length.</summary>
    public int Length => 2 + Digits.Length;

    /// <summary>Parses a KEYPAD payload; the count must match.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out OsdpKeypadData keypad)
    {
        keypad = default;
        if (data.Length < 2 || data[1] != data.Length - 2) return false;
        keypad = new OsdpKeypadData(data[0], data[2..]);
        return true;
    }

    /// <summary>Writes the payload; returns <see cref="Length"/>.</summary>
    public int Write(Span<byte> destination)
    {
        if (destination.Length < Length || Digits.Length > 255) throw new ArgumentException("Destination too small or too many digits.", nameof(destination));
        destination[0] = ReaderNumber;
        destination[1] = (byte)Digits.Length;
        Digits.CopyTo(destination[2..]);
        return Length;
    }

    /// <summary>The keys as text ('0'–'9', '*', '#'); false if any byte is not a key.</summary>
    public bool TryGetText(out string text)
    {
        text = string.Empty;
        if (Digits.Length > 255) return false;
        Span<char> chars = stackalloc char[Digits.Length];
        for (int i = 0; i < Digits.Length; i++)
        {
            chars[i] = ToChar(Digits[i]);
            if (chars[i] == '\0') return false;
        }
        text = new string(chars);
        return true;
    }

    /// <summary>Wire byte for a key character ('*' → 0x7F, '#' → 0x0D), or 0 if not a key.</summary>
    public static byte FromChar(char c) => c switch
    {
        >= '0' and <= '9' => (byte)c,
        '*' => 0x7F,
        '#' => 0x0D,
        _ => 0,
    };

    private static char ToChar(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => (char)b,
        0x7F or (byte)'*' => '*',
        0x0D or (byte)'#' => '#',
        _ => '\0',
    };
}
