using System.Globalization;
using Kezekshi.Edge.Devices.Cards;

namespace Kezekshi.Edge.Devices.Protocols.LineReader;

/// <summary>Parses and formats the lines of a line-oriented card reader. Pure functions, no allocation on success.</summary>
public static class LineReaderCodec
{
    private const int MaxHexDigits = 16;
    private const int MaxDecimalDigits = 20;

    /// <summary>
    /// Parses one line (without its terminator) into the canonical card number. Never throws for bad input:
    /// returns false with a reason for IT (wrong prefix, bad digit, too long, parity error).
    /// </summary>
    public static bool TryParseLine(ReadOnlySpan<byte> line, LineReaderOptions options, out ulong canonical, out string? error) =>
        TryParseLine(line, options, out canonical, out _, out error);

    /// <summary>As <see cref="TryParseLine(ReadOnlySpan{byte}, LineReaderOptions, out ulong, out string?)"/>, also giving
    /// the bit count for <see cref="CardRead.BitCount"/> (26 from a Wiegand frame, 40 from an EM-Marine ID, 0 for plain digits).</summary>
    public static bool TryParseLine(ReadOnlySpan<byte> line, LineReaderOptions options, out ulong canonical, out int bitCount, out string? error)
    {
        ArgumentNullException.ThrowIfNull(options);
        canonical = 0;
        bitCount = 0;
        var rest = TrimWhitespace(line);
        string prefix = options.Prefix;
        if (prefix.Length > 0)
        {
            if (!StartsWith(rest, prefix))
            {
                error = string.Create(CultureInfo.InvariantCulture, $"line does not start with the prefix {Printable(prefix)}: {Printable(line)}");
                return false;
            }
            rest = TrimWhitespace(rest[prefix.Length..]);
        }
        if (rest.IsEmpty)
        {
            error = "empty line";
            return false;
        }
        if (!TryParseNumber(rest, options.NumberFormat, out ulong value, out error)) return false;

        switch (options.Wiegand26)
        {
            case Wiegand26Conversion.FromFrame:
                if (value >> 26 != 0)
                {
                    error = string.Create(CultureInfo.InvariantCulture, $"0x{value:X} is wider than a 26-bit Wiegand frame");
                    return false;
                }
                if (!Wiegand.TryDecode26((uint)value, out byte facility, out ushort number))
                {
                    error = string.Create(CultureInfo.InvariantCulture, $"Wiegand-26 parity error in 0x{value:X7}");
                    return false;
                }
                canonical = Wiegand.CanonicalNumber(facility, number);
                bitCount = 26;
                break;
            case Wiegand26Conversion.FromEmMarine:
                if (value >> 40 != 0)
                {
                    error = string.Create(CultureInfo.InvariantCulture, $"0x{value:X} is wider than a 40-bit EM-Marine ID (10 hex digits)");
                    return false;
                }
                canonical = value & 0xFF_FFFF;
                bitCount = 40;
                break;
            default:
                canonical = value;
                break;
        }
        error = null;
        return true;
    }

    /// <summary>
    /// Writes the line a reader configured by <paramref name="options"/> prints for <paramref name="canonical"/>
    /// (prefix, digits, terminator); returns its length. For EM-Marine, <paramref name="emMarineHigh"/> supplies
    /// bits 24–39 of the 40-bit ID (version byte and the ID's high byte), which the canonical number does not carry.
    /// </summary>
    public static int FormatLine(ulong canonical, LineReaderOptions options, Span<byte> destination, ushort emMarineHigh = 0x0100)
    {
        ArgumentNullException.ThrowIfNull(options);
        ulong value;
        int hexWidth;
        switch (options.Wiegand26)
        {
            case Wiegand26Conversion.FromFrame:
                if (canonical > 0xFF_FFFF) throw new ArgumentOutOfRangeException(nameof(canonical), canonical, "A Wiegand-26 card number is at most 24 bits (facility × 65536 + number).");
                value = Wiegand.Encode26((byte)(canonical >> 16), (ushort)canonical);
                hexWidth = 7;
                break;
            case Wiegand26Conversion.FromEmMarine:
                if (canonical > 0xFF_FFFF) throw new ArgumentOutOfRangeException(nameof(canonical), canonical, "The EM-Marine low 24 bits hold facility × 65536 + number.");
                value = ((ulong)emMarineHigh << 24) | canonical;
                hexWidth = 10;
                break;
            default:
                value = canonical;
                hexWidth = 1;
                break;
        }
        int n = 0;
        foreach (char c in options.Prefix) destination[n++] = (byte)c;
        bool ok = options.NumberFormat == LineNumberFormat.Hex
            ? value.TryFormat(destination[n..], out int written, hexWidth switch { 7 => "X7", 10 => "X10", _ => "X" }, CultureInfo.InvariantCulture)
            : value.TryFormat(destination[n..], out written, "D", CultureInfo.InvariantCulture);
        if (!ok) throw new ArgumentException("Destination is too small for the line.", nameof(destination));
        n += written;
        foreach (char c in options.Terminator) destination[n++] = (byte)c;
        return n;
    }

    private static bool TryParseNumber(ReadOnlySpan<byte> digits, LineNumberFormat format, out ulong value, out string? error)
    {
        value = 0;
        bool hex = format == LineNumberFormat.Hex;
        int maxDigits = hex ? MaxHexDigits : MaxDecimalDigits;
        if (digits.Length > maxDigits)
        {
            error = string.Create(CultureInfo.InvariantCulture, $"{digits.Length} digits is more than a 64-bit card number has ({maxDigits})");
            return false;
        }
        for (int i = 0; i < digits.Length; i++)
        {
            byte b = digits[i];
            int digit = b switch
            {
                >= (byte)'0' and <= (byte)'9' => b - '0',
                >= (byte)'A' and <= (byte)'F' when hex => b - 'A' + 10,
                >= (byte)'a' and <= (byte)'f' when hex => b - 'a' + 10,
                _ => -1,
            };
            if (digit < 0)
            {
                error = string.Create(CultureInfo.InvariantCulture,
                    $"{Printable(digits.Slice(i, 1))} at position {i} is not a {(hex ? "hex" : "decimal")} digit in {Printable(digits)}");
                return false;
            }
            if (hex)
            {
                value = (value << 4) | (uint)digit;
            }
            else if (value > (ulong.MaxValue - (uint)digit) / 10)
            {
                error = "decimal number does not fit in 64 bits";
                return false;
            }
            else
            {
                value = (value * 10) + (uint)digit;
            }
        }
        error = null;
        return true;
    }

    private static bool StartsWith(ReadOnlySpan<byte> line, string prefix)
    {
        if (line.Length < prefix.Length) return false;
        for (int i = 0; i < prefix.Length; i++)
        {
            if (line[i] != (byte)prefix[i]) return false;
        }
        return true;
    }

    private static ReadOnlySpan<byte> TrimWhitespace(ReadOnlySpan<byte> span) => span.Trim(" \t\r\n"u8);

    /// <summary>A short printable form of bytes for messages: control characters as &lt;0x02&gt;, at most 40 shown.</summary>
    internal static string Printable(ReadOnlySpan<byte> bytes)
    {
        var sb = new System.Text.StringBuilder("\"");
        foreach (byte b in bytes[..Math.Min(bytes.Length, 40)])
        {
            if (b is >= 0x20 and < 0x7F) sb.Append((char)b);
            else sb.Append(CultureInfo.InvariantCulture, $"<0x{b:X2}>");
        }
        if (bytes.Length > 40) sb.Append('…');
        return sb.Append('"').ToString();
    }

    private static string Printable(string text)
    {
        Span<byte> bytes = stackalloc byte[Math.Min(text.Length, 40)];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)text[i];
        return Printable(bytes);
    }
}
