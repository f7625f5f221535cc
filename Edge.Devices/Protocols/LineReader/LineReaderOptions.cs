namespace Kezekshi.Edge.Devices.Protocols.LineReader;

/// <summary>How the reader prints the number.</summary>
public enum LineNumberFormat
{
    /// <summary>Hexadecimal digits, either case (most EM-Marine and Mifare USB readers).</summary>
    Hex,
    /// <summary>Decimal digits.</summary>
    Decimal,
}

/// <summary>What the printed number is, and how it becomes the canonical card number.</summary>
public enum Wiegand26Conversion
{
    /// <summary>The number is the card number as is (a Mifare UID, or a reader already set to print facility × 65536 + number).</summary>
    None,
    /// <summary>The number is a raw 26-bit Wiegand frame with both parity bits: parity is checked, the canonical
    /// number is facility × 65536 + number (see <see cref="Cards.Wiegand.TryDecode26"/>).</summary>
    FromFrame,
    /// <summary>The number is a 40-bit EM-Marine ID (10 hex digits: version byte + 32-bit ID) whose low 24 bits
    /// are facility (8) and number (16), which is what a Wiegand-26 reader would send for the same card.</summary>
    FromEmMarine,
}

/// <summary>Line format of a USB-serial card reader that prints one number per line.</summary>
/// <remarks>
/// Typical layouts: "0123ABCD\r\n"; STX "0123ABCD" CR LF ETX; "12345678\r". Prefix and terminator are
/// compared as bytes (each character must be 0x00–0xFF). Whitespace around the digits is ignored, so a
/// reader that sends "\r\n" still works with a "\r" or "\n" terminator.
/// </remarks>
public sealed class LineReaderOptions
{
    /// <summary>Bytes that start every line, e.g. "\u0002" (STX); empty for none.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>Bytes that end every line (the suffix): "\r\n" by default; also "\r", "\n" or "\u0003" (ETX).</summary>
    public string Terminator { get; set; } = "\r\n";

    /// <summary>Hex or decimal digits.</summary>
    public LineNumberFormat NumberFormat { get; set; } = LineNumberFormat.Hex;

    /// <summary>How the number becomes the canonical card number.</summary>
    public Wiegand26Conversion Wiegand26 { get; set; } = Wiegand26Conversion.None;

    /// <summary>The same card seen again within this time of its last sighting is ignored (readers repeat a card
    /// held on them several times a second). Zero disables debouncing.</summary>
    public TimeSpan DebounceWindow { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Longest line accepted, without the terminator: a guard against garbage with no terminator
    /// (a wrong baud rate) filling memory.</summary>
    public int MaxLineLength { get; set; } = 64;

    /// <summary>A partial line with no further byte for this long is dropped as bad (a reader reset mid-line),
    /// so it cannot glue itself to the next card.</summary>
    public TimeSpan IncompleteLineTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Card reads buffered for a slow consumer; beyond that the oldest is dropped (and logged).</summary>
    public int ChannelCapacity { get; set; } = 16;

    /// <summary>Interval of the rate-limited log line about malformed lines.</summary>
    public TimeSpan BadLineLogInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws <see cref="ArgumentException"/> when the options cannot work.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Terminator)) throw new ArgumentException("Terminator must not be empty.", nameof(Terminator));
        if (Terminator.Any(c => c > 0xFF) || Prefix.Any(c => c > 0xFF))
        {
            throw new ArgumentException("Prefix and Terminator must be single-byte characters (0x00–0xFF).");
        }
        if (MaxLineLength is < 1 or > 4096) throw new ArgumentOutOfRangeException(nameof(MaxLineLength), MaxLineLength, "MaxLineLength must be 1–4096.");
        if (ChannelCapacity < 1) throw new ArgumentOutOfRangeException(nameof(ChannelCapacity), ChannelCapacity, "ChannelCapacity must be at least 1.");
        if (DebounceWindow < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(DebounceWindow), DebounceWindow, "DebounceWindow must not be negative.");
        if (IncompleteLineTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(IncompleteLineTimeout), IncompleteLineTimeout, "IncompleteLineTimeout must be positive.");
        }
    }
}
