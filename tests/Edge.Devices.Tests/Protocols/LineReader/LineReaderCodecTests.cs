using System.Text;
using Kezekshi.Edge.Devices.Cards;
using Kezekshi.Edge.Devices.Protocols.LineReader;

namespace Kezekshi.Edge.Devices.Tests.Protocols.LineReader;

[Category("Unit")]
public sealed class LineReaderCodecTests
{
    // Facility 123, number 45678: canonical 123 × 65536 + 45678 = 8106606, printed on the card as "123,45678".
    private const ulong KnownCard = 8_106_606;

    private static bool Parse(string line, LineReaderOptions options, out ulong card, out string? error) =>
        LineReaderCodec.TryParseLine(Encoding.Latin1.GetBytes(line), options, out card, out error);

    [TestCase("0123ABCD", 0x0123ABCDUL)]
    [TestCase("0123abcd", 0x0123ABCDUL)]
    [TestCase("FFFFFFFFFFFFFFFF", ulong.MaxValue)]
    [TestCase("  7B\t", 0x7BUL)]
    public void Hex_lines_are_taken_as_the_card_number(string line, ulong expected)
    {
        Assert.That(Parse(line, new LineReaderOptions(), out var card, out var error), Is.True, error);
        Assert.That(card, Is.EqualTo(expected));
    }

    [TestCase("12345678", 12_345_678UL)]
    [TestCase("0008106606", KnownCard)]
    [TestCase("18446744073709551615", ulong.MaxValue)]
    public void Decimal_lines_are_taken_as_the_card_number(string line, ulong expected)
    {
        Assert.That(Parse(line, new LineReaderOptions { NumberFormat = LineNumberFormat.Decimal }, out var card, out var error), Is.True, error);
        Assert.That(card, Is.EqualTo(expected));
    }

    [Test]
    public void A_decimal_number_beyond_64_bits_is_rejected()
    {
        Assert.That(Parse("18446744073709551616", new LineReaderOptions { NumberFormat = LineNumberFormat.Decimal }, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("64 bits"));
    }

    [Test]
    public void Hex_letters_in_a_decimal_line_are_rejected_with_the_position()
    {
        Assert.That(Parse("12A4", new LineReaderOptions { NumberFormat = LineNumberFormat.Decimal }, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("position 2").And.Contain("decimal digit"));
    }

    [Test]
    public void A_non_hex_character_is_rejected()
    {
        Assert.That(Parse("12G4", new LineReaderOptions(), out _, out var error), Is.False);
        Assert.That(error, Does.Contain("\"G\" at position 2"));
    }

    [Test]
    public void Seventeen_hex_digits_are_too_many()
    {
        Assert.That(Parse("1" + new string('0', 16), new LineReaderOptions(), out _, out var error), Is.False);
        Assert.That(error, Does.Contain("17 digits"));
    }

    [TestCase("")]
    [TestCase("   ")]
    public void An_empty_line_is_rejected(string line)
    {
        Assert.That(Parse(line, new LineReaderOptions(), out _, out var error), Is.False);
        Assert.That(error, Is.EqualTo("empty line"));
    }

    [Test]
    public void An_stx_prefix_is_required_when_configured()
    {
        var options = new LineReaderOptions { Prefix = "\u0002" };
        Assert.That(Parse("\u00020A1B", options, out var card, out var error), Is.True, error);
        Assert.That(card, Is.EqualTo(0x0A1BUL));

        Assert.That(Parse("0A1B", options, out _, out error), Is.False);
        Assert.That(error, Does.Contain("prefix \"<0x02>\""));
    }

    [Test]
    public void A_wiegand_26_frame_of_facility_123_number_45678_gives_canonical_8106606_printed_123_45678()
    {
        var options = new LineReaderOptions { Wiegand26 = Wiegand26Conversion.FromFrame };
        // Even parity over 0x7BB (9 ones) = 1, data 0x7BB26E, odd parity over 0x26E (6 ones) = 1:
        // 1 0111 1011 1011 0010 0110 1110 1 = 0x2F764DD.
        Assert.That(Parse("2F764DD", options, out var card, out var error), Is.True, error);
        Assert.That(card, Is.EqualTo(123UL * 65536 + 45678));
        Assert.That(card, Is.EqualTo(KnownCard));
        Assert.That(Wiegand.FormatFacilityNumber(card), Is.EqualTo("123,45678"));

        Span<byte> line = stackalloc byte[16];
        int n = LineReaderCodec.FormatLine(KnownCard, options, line);
        Assert.That(Encoding.ASCII.GetString(line[..n]), Is.EqualTo("2F764DD\r\n"));
    }

    [TestCase("2F764DC", Description = "odd parity bit cleared")]
    [TestCase("0F764DD", Description = "even parity bit cleared")]
    [TestCase("2F764DF", Description = "a data bit flipped in the second half")]
    public void A_wiegand_26_frame_with_a_parity_error_is_rejected(string line)
    {
        Assert.That(Parse(line, new LineReaderOptions { Wiegand26 = Wiegand26Conversion.FromFrame }, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("parity error"));
    }

    [Test]
    public void A_number_wider_than_26_bits_is_not_a_wiegand_26_frame()
    {
        Assert.That(Parse("4000000", new LineReaderOptions { Wiegand26 = Wiegand26Conversion.FromFrame }, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("wider than a 26-bit"));
    }

    [Test]
    public void The_same_frame_printed_in_decimal_converts_the_same()
    {
        var options = new LineReaderOptions { Wiegand26 = Wiegand26Conversion.FromFrame, NumberFormat = LineNumberFormat.Decimal };
        Assert.That(Parse(0x2F764DD.ToString(System.Globalization.CultureInfo.InvariantCulture), options, out var card, out var error), Is.True, error);
        Assert.That(card, Is.EqualTo(KnownCard));
    }

    [Test]
    public void An_em_marine_id_gives_its_low_24_bits_as_facility_and_number()
    {
        var options = new LineReaderOptions { Wiegand26 = Wiegand26Conversion.FromEmMarine };
        Assert.That(LineReaderCodec.TryParseLine(Encoding.ASCII.GetBytes("01007BB26E"), options, out var card, out int bits, out var error), Is.True, error);
        Assert.That(card, Is.EqualTo(KnownCard));
        Assert.That(bits, Is.EqualTo(40));
        Assert.That(Wiegand.FormatFacilityNumber(card), Is.EqualTo("123,45678"));
    }

    [Test]
    public void An_em_marine_id_of_more_than_10_hex_digits_is_rejected()
    {
        Assert.That(Parse("1001007BB26E", new LineReaderOptions { Wiegand26 = Wiegand26Conversion.FromEmMarine }, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("40-bit"));
    }

    [TestCase(LineNumberFormat.Hex, Wiegand26Conversion.None, "\u0002", "\r\n", TestName = "{m}(hex, STX, CR LF)")]
    [TestCase(LineNumberFormat.Decimal, Wiegand26Conversion.None, "", "\r", TestName = "{m}(decimal, CR)")]
    [TestCase(LineNumberFormat.Hex, Wiegand26Conversion.FromFrame, "", "\n", TestName = "{m}(hex Wiegand-26 frame, LF)")]
    [TestCase(LineNumberFormat.Decimal, Wiegand26Conversion.FromFrame, "\u0002", "\u0003", TestName = "{m}(decimal Wiegand-26 frame, STX, ETX)")]
    [TestCase(LineNumberFormat.Hex, Wiegand26Conversion.FromEmMarine, "", "\r\n", TestName = "{m}(EM-Marine, CR LF)")]
    public void Formatting_a_card_and_parsing_the_line_gives_the_card_back(LineNumberFormat format, Wiegand26Conversion conversion, string prefix, string terminator)
    {
        var options = new LineReaderOptions { NumberFormat = format, Wiegand26 = conversion, Prefix = prefix, Terminator = terminator };
        Span<byte> line = stackalloc byte[40];
        foreach (ulong card in new ulong[] { 0, 1, KnownCard, 0xFF_FFFF })
        {
            int n = LineReaderCodec.FormatLine(card, options, line);
            Assert.That(line[..n].EndsWith(Encoding.Latin1.GetBytes(terminator)), Is.True);
            Assert.That(LineReaderCodec.TryParseLine(line[..(n - terminator.Length)], options, out var parsed, out var error), Is.True, error);
            Assert.That(parsed, Is.EqualTo(card));
        }
    }
}
