using Kezekshi.Edge.Devices.Protocols.ModbusRtu;
using Kezekshi.Edge.Devices.Tests.TestSupport;

namespace Kezekshi.Edge.Devices.Tests.Protocols.ModbusRtu;

/// <summary>
/// Codec tests against the example frames of the specifications. The Application Protocol v1.1b3 §6
/// examples are PDUs; as in Modbus over Serial Line v1.02 §6.2.2 they are wrapped here for slave 0x11
/// (address in front, CRC-16 behind, low byte first).
/// </summary>
[Category("Unit")]
public sealed class ModbusCodecTests
{
    [Test]
    public void Crc_of_the_serial_line_example_read_of_three_registers_from_slave_0x11_is_0x8776_sent_low_byte_first()
    {
        // Serial Line v1.02 §6.2.2: slave 0x11, Read Holding Registers from 0x006B, 3 registers.
        var body = Hex.Parse("11 03 00 6B 00 03");
        Assert.That(ModbusCrc.Compute(body), Is.EqualTo(0x8776));

        Span<byte> frame = stackalloc byte[8];
        int length = ModbusRequest.ReadHoldingRegisters(0x11, 0x006B, 3).WriteTo(frame);
        Assert.That(Hex.Format(frame[..length]), Is.EqualTo("11 03 00 6B 00 03 76 87"));
        Assert.That(ModbusCrc.IsValid(frame), Is.True);
    }

    [Test]
    public void Crc_check_fails_when_any_bit_of_the_frame_flips()
    {
        var frame = Hex.Parse("11 03 00 6B 00 03 76 87");
        for (int bit = 0; bit < frame.Length * 8; bit++)
        {
            var copy = (byte[])frame.Clone();
            copy[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.That(ModbusCrc.IsValid(copy), Is.False, $"bit {bit}");
        }
    }

    // Application Protocol v1.1b3 §6.1–§6.12 request examples.
    [TestCase("§6.1 Read Coils 20–38", "11 01 00 13 00 13 8E 92")]
    [TestCase("§6.2 Read Discrete Inputs 197–218", "11 02 00 C4 00 16 BA A9")]
    [TestCase("§6.3 Read Holding Registers 108–110", "11 03 00 6B 00 03 76 87")]
    [TestCase("§6.4 Read Input Register 9", "11 04 00 08 00 01 B2 98")]
    [TestCase("§6.5 Write Single Coil 173 ON", "11 05 00 AC FF 00 4E 8B")]
    [TestCase("§6.6 Write Single Register 2 = 3", "11 06 00 01 00 03 9A 9B")]
    [TestCase("§6.11 Write Multiple Coils 20–29", "11 0F 00 13 00 0A 02 CD 01 BF 0B")]
    [TestCase("§6.12 Write Multiple Registers 2–3", "11 10 00 01 00 02 04 00 0A 01 02 C6 F0")]
    public void Request_factories_write_the_spec_example_frames(string example, string expectedHex)
    {
        Span<byte> frame = stackalloc byte[ModbusLimits.MaxFrameLength];
        int length = Build(example, frame);
        Assert.That(Hex.Format(frame[..length]), Is.EqualTo(expectedHex), example);

        Assert.That(ModbusRequest.TryParse(Hex.Parse(expectedHex), out var parsed, out var error), Is.True, error);
        Assert.That(ModbusRequest.GetFrameLength(frame[..length]), Is.EqualTo(length));
        Span<byte> again = stackalloc byte[ModbusLimits.MaxFrameLength];
        Assert.That(Hex.Format(again[..parsed.WriteTo(again)]), Is.EqualTo(expectedHex), "parse → write round trip");
    }

    private static int Build(string example, Span<byte> frame)
    {
        Span<byte> data = stackalloc byte[8];
        return example.Split(' ')[0] switch
        {
            "§6.1" => ModbusRequest.ReadCoils(0x11, 0x0013, 0x0013).WriteTo(frame),
            "§6.2" => ModbusRequest.ReadDiscreteInputs(0x11, 0x00C4, 0x0016).WriteTo(frame),
            "§6.3" => ModbusRequest.ReadHoldingRegisters(0x11, 0x006B, 3).WriteTo(frame),
            "§6.4" => ModbusRequest.ReadInputRegisters(0x11, 0x0008, 1).WriteTo(frame),
            "§6.5" => ModbusRequest.WriteSingleCoil(0x11, 0x00AC, true).WriteTo(frame),
            "§6.6" => ModbusRequest.WriteSingleRegister(0x11, 0x0001, 0x0003).WriteTo(frame),
            "§6.11" => ModbusRequest.WriteMultipleCoils(0x11, 0x0013, 10,
                    data[..ModbusData.PackCoils([true, false, true, true, false, false, true, true, true, false], data)]).WriteTo(frame),
            "§6.12" => ModbusRequest.WriteMultipleRegisters(0x11, 0x0001,
                    data[..ModbusData.WriteRegisters([0x000A, 0x0102], data)]).WriteTo(frame),
            _ => throw new ArgumentException(example),
        };
    }

    [Test]
    public void Read_coils_response_of_section_6_1_unpacks_coils_20_to_38_lsb_first()
    {
        // §6.1: coils 27–20 = 0xCD (1100 1101), 35–28 = 0x6B, 38–36 = 0x05 (three high bits padded with zero).
        var request = ModbusRequest.ReadCoils(0x11, 0x0013, 0x0013);
        Assert.That(request.ExpectedResponseLength, Is.EqualTo(8));
        Assert.That(ModbusResponse.TryParse(Hex.Parse("11 01 03 CD 6B 05 40 12"), request, out var response, out var error), Is.True, error);
        var bits = new bool[19];
        response.CopyBitsTo(bits);
        Assert.That(bits[0..8], Is.EqualTo(new[] { true, false, true, true, false, false, true, true }), "coils 20–27 from 0xCD");
        Assert.That(bits[16..19], Is.EqualTo(new[] { true, false, true }), "coils 36–38 from 0x05");
        Assert.That(response.GetBit(8), Is.True, "coil 28 is bit 0 of 0x6B");
    }

    [Test]
    public void Read_discrete_inputs_response_of_section_6_2_parses()
    {
        var request = ModbusRequest.ReadDiscreteInputs(0x11, 0x00C4, 0x0016);
        Assert.That(ModbusResponse.TryParse(Hex.Parse("11 02 03 AC DB 35 20 18"), request, out var response, out var error), Is.True, error);
        Assert.That(response.Data.ToArray(), Is.EqualTo(new byte[] { 0xAC, 0xDB, 0x35 }));
        Assert.That(response.GetBit(0), Is.False, "input 197 is bit 0 of 0xAC");
        Assert.That(response.GetBit(2), Is.True, "input 199 is bit 2 of 0xAC");
    }

    [Test]
    public void Read_holding_registers_response_of_section_6_3_gives_555_0_100()
    {
        var request = ModbusRequest.ReadHoldingRegisters(0x11, 0x006B, 3);
        Assert.That(ModbusResponse.TryParse(Hex.Parse("11 03 06 02 2B 00 00 00 64 C8 BA"), request, out var response, out var error), Is.True, error);
        var registers = new ushort[3];
        response.CopyRegistersTo(registers);
        Assert.That(registers, Is.EqualTo(new ushort[] { 555, 0, 100 }));
    }

    [Test]
    public void Read_input_register_response_of_section_6_4_gives_10()
    {
        var request = ModbusRequest.ReadInputRegisters(0x11, 0x0008, 1);
        Assert.That(ModbusResponse.TryParse(Hex.Parse("11 04 02 00 0A F8 F4"), request, out var response, out var error), Is.True, error);
        Assert.That(response.GetRegister(0), Is.EqualTo(10));
    }

    [TestCase("§6.5", "11 05 00 AC FF 00 4E 8B")]
    [TestCase("§6.6", "11 06 00 01 00 03 9A 9B")]
    [TestCase("§6.11", "11 0F 00 13 00 0A 26 99")]
    [TestCase("§6.12", "11 10 00 01 00 02 12 98")]
    public void Write_responses_of_the_spec_examples_parse_and_are_written_identically(string section, string responseHex)
    {
        Span<byte> requestFrame = stackalloc byte[ModbusLimits.MaxFrameLength];
        Span<byte> written = stackalloc byte[ModbusLimits.MaxFrameLength];
        int length = section switch
        {
            "§6.5" => ModbusRequest.WriteSingleCoil(0x11, 0x00AC, true).WriteTo(requestFrame),
            "§6.6" => ModbusRequest.WriteSingleRegister(0x11, 1, 3).WriteTo(requestFrame),
            "§6.11" => ModbusRequest.WriteMultipleCoils(0x11, 0x13, 10, [0xCD, 0x01]).WriteTo(requestFrame),
            _ => ModbusRequest.WriteMultipleRegisters(0x11, 1, [0x00, 0x0A, 0x01, 0x02]).WriteTo(requestFrame),
        };
        ModbusRequest.TryParse(requestFrame[..length], out var request, out _);
        Assert.That(ModbusResponse.TryParse(Hex.Parse(responseHex), request, out var response, out var error), Is.True, error);
        Assert.That(response.IsException, Is.False);

        int n = request.Function is ModbusFunction.WriteSingleCoil or ModbusFunction.WriteSingleRegister
            ? ModbusResponse.WriteEcho(written, 0x11, request.Function, request.Address, request.Value)
            : ModbusResponse.WriteEcho(written, 0x11, request.Function, request.Address, request.Quantity);
        Assert.That(Hex.Format(written[..n]), Is.EqualTo(responseHex), section);
    }

    [Test]
    public void Exception_response_of_section_7_parses_as_illegal_data_address()
    {
        // §7: Read Coils at 0x04A1 on a device without that coil → 0x81, code 02.
        var request = ModbusRequest.ReadCoils(0x0A, 0x04A1, 1);
        var frame = Hex.Parse("0A 81 02 B0 53");
        Assert.That(ModbusResponse.GetFrameLength(frame.AsSpan(0, 2), request.ExpectedResponseLength), Is.EqualTo(5));
        Assert.That(ModbusResponse.TryParse(frame, request, out var response, out var error), Is.True, error);
        Assert.That(response.IsException, Is.True);
        Assert.That(response.ExceptionCode, Is.EqualTo(ModbusExceptionCode.IllegalDataAddress));

        Span<byte> written = stackalloc byte[5];
        ModbusResponse.WriteException(written, 0x0A, (byte)ModbusFunction.ReadCoils, ModbusExceptionCode.IllegalDataAddress);
        Assert.That(Hex.Format(written), Is.EqualTo("0A 81 02 B0 53"));
    }

    [TestCase(2001, "1–2000", "§6.1")]
    [TestCase(0, "1–2000", "§6.1")]
    public void Reading_more_coils_than_the_spec_allows_is_refused_with_the_section(int count, string range, string section)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.ReadCoils(1, 0, (ushort)count));
        Assert.That(ex!.Message, Does.Contain(range).And.Contain(section));
    }

    [Test]
    public void Reading_126_registers_is_refused_because_the_limit_is_125()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.ReadHoldingRegisters(1, 0, 126));
        Assert.That(ex!.Message, Does.Contain("quantity 126 is outside 1–125").And.Contain("§6.3"));
        Assert.DoesNotThrow(() => ModbusRequest.ReadHoldingRegisters(1, 0, 125));
        Assert.DoesNotThrow(() => ModbusRequest.ReadCoils(1, 0, 2000));
    }

    [Test]
    public void Write_limits_are_1968_coils_and_123_registers()
    {
        var coils = new byte[(1969 + 7) / 8];
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.WriteMultipleCoils(1, 0, 1969, coils));
        Assert.DoesNotThrow(() => ModbusRequest.WriteMultipleCoils(1, 0, 1968, new byte[246]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.WriteMultipleRegisters(1, 0, new byte[124 * 2]));
        Assert.DoesNotThrow(() => ModbusRequest.WriteMultipleRegisters(1, 0, new byte[123 * 2]));
    }

    [Test]
    public void Reads_cannot_be_broadcast_and_addresses_above_247_are_reserved()
    {
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.ReadCoils(0, 0, 1))!.Message, Does.Contain("broadcast"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.WriteSingleCoil(248, 0, true))!.Message, Does.Contain("reserved"));
        Assert.DoesNotThrow(() => ModbusRequest.WriteSingleCoil(0, 0, true));
    }

    [Test]
    public void A_range_past_address_65535_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.ReadHoldingRegisters(1, 65500, 100));
        Assert.DoesNotThrow(() => ModbusRequest.ReadHoldingRegisters(1, 65436, 100));
    }

    [Test]
    public void A_well_framed_request_with_a_bad_quantity_parses_but_fails_the_quantity_check()
    {
        var frame = new byte[8];
        frame[0] = 1; frame[1] = 3; frame[5] = 0; // quantity 0
        ModbusCrc.Append(frame, 6);
        Assert.That(ModbusRequest.TryParse(frame, out var request, out _), Is.True);
        Assert.That(request.HasValidQuantity(out var error), Is.False);
        Assert.That(error, Does.Contain("quantity 0"));
    }

    [Test]
    public void Request_with_a_bad_crc_is_rejected_with_both_crcs_in_the_reason()
    {
        Assert.That(ModbusRequest.TryParse(Hex.Parse("11 03 00 6B 00 03 76 88"), out _, out var error), Is.False);
        Assert.That(error, Does.Contain("CRC mismatch").And.Contain("0x8876").And.Contain("0x8776"));
    }

    [Test]
    public void Reply_from_the_wrong_slave_or_for_the_wrong_function_or_with_a_wrong_echo_is_rejected()
    {
        var request = ModbusRequest.WriteSingleCoil(0x11, 0x00AC, true);
        Span<byte> reply = stackalloc byte[8];
        ModbusResponse.WriteEcho(reply, 0x12, ModbusFunction.WriteSingleCoil, 0x00AC, 0xFF00);
        Assert.That(ModbusResponse.TryParse(reply, request, out _, out var e1), Is.False);
        Assert.That(e1, Does.Contain("slave 18"));

        ModbusResponse.WriteEcho(reply, 0x11, ModbusFunction.WriteSingleRegister, 0x00AC, 0xFF00);
        Assert.That(ModbusResponse.TryParse(reply, request, out _, out var e2), Is.False);
        Assert.That(e2, Does.Contain("function"));

        ModbusResponse.WriteEcho(reply, 0x11, ModbusFunction.WriteSingleCoil, 0x00AC, 0x0000);
        Assert.That(ModbusResponse.TryParse(reply, request, out _, out var e3), Is.False);
        Assert.That(e3, Does.Contain("echo"));
    }

    [Test]
    public void Read_reply_with_a_byte_count_that_does_not_match_the_quantity_is_rejected()
    {
        var request = ModbusRequest.ReadHoldingRegisters(0x11, 0x006B, 3);
        var frame = Hex.Parse("11 03 05 02 2B 00 00 00 64 00 00");
        ModbusCrc.Append(frame, 9);
        Assert.That(ModbusResponse.TryParse(frame, request, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("byte count 5"));
    }

    [TestCase(9600, 4.010)]
    [TestCase(19200, 2.005)]
    [TestCase(38400, 1.750)]
    [TestCase(115200, 1.750)]
    public void Inter_frame_gap_is_3_5_characters_of_11_bits_or_1_75_ms_above_19200_baud(int baud, double expectedMs)
    {
        Assert.That(ModbusRtuMaster.InterFrameGap(baud).TotalMilliseconds, Is.EqualTo(expectedMs).Within(0.001));
    }

    [Test]
    public void Coils_pack_lsb_first_and_unpack_back()
    {
        bool[] coils = [true, false, true, true, false, false, true, true, true, false];
        Span<byte> packed = stackalloc byte[2];
        Assert.That(ModbusData.PackCoils(coils, packed), Is.EqualTo(2));
        Assert.That(Hex.Format(packed), Is.EqualTo("CD 01"), "§6.11 example: coils 20–29");
        var back = new bool[10];
        ModbusData.UnpackCoils(packed, back);
        Assert.That(back, Is.EqualTo(coils));
    }
}
