using System.Buffers.Binary;
using System.Globalization;

namespace Kezekshi.Edge.Devices.Protocols.ModbusRtu;

/// <summary>A Modbus RTU request (master → slave): built with the factory methods, written with
/// <see cref="WriteTo"/>, parsed with <see cref="TryParse"/>.</summary>
/// <remarks>
/// Frame layout (Serial Line v1.02 §2.5.1): slave address, function code, data, CRC low, CRC high.
/// Addresses, quantities and values are big-endian (Application Protocol v1.1b3 §4.2). A ref struct
/// because <see cref="Data"/> points into the caller's buffer: building or parsing allocates nothing.
/// Factories check the spec's quantity limits and throw <see cref="ArgumentOutOfRangeException"/> with
/// the section to read; <see cref="TryParse"/> only checks framing, so a slave can still answer a
/// well-framed request with a bad quantity with exception 03 (<see cref="HasValidQuantity"/>).
/// </remarks>
public readonly ref struct ModbusRequest
{
    private ModbusRequest(byte slave, byte function, ushort address, ushort quantity, ushort value, ReadOnlySpan<byte> data)
    {
        Slave = slave;
        FunctionCode = function;
        Address = address;
        Quantity = quantity;
        Value = value;
        Data = data;
    }

    /// <summary>Slave address: 1–247, or 0 for a broadcast write.</summary>
    public byte Slave { get; }

    /// <summary>The function code as sent (may be one this library does not know, when parsed).</summary>
    public byte FunctionCode { get; }

    /// <summary>The function code as an enum.</summary>
    public ModbusFunction Function => (ModbusFunction)FunctionCode;

    /// <summary>First coil/input/register address (0-based, as on the wire).</summary>
    public ushort Address { get; }

    /// <summary>How many items are read or written (1 for the single writes).</summary>
    public ushort Quantity { get; }

    /// <summary>Value of a single write: 0xFF00/0x0000 for a coil, the register value for function 06.</summary>
    public ushort Value { get; }

    /// <summary>For 15/16, the bytes after the byte count (packed coils LSB first, or big-endian registers);
    /// for an unknown function, everything between the function code and the CRC.</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>True for a broadcast (slave 0), which no slave answers.</summary>
    public bool IsBroadcast => Slave == ModbusLimits.BroadcastAddress;

    /// <summary>True when this library knows the function code.</summary>
    public bool IsKnownFunction => IsKnown(FunctionCode);

    /// <summary>Frame length including address and CRC.</summary>
    public int Length => FunctionCode switch
    {
        >= 1 and <= 6 => 8,
        0x0F or 0x10 => 9 + Data.Length,
        _ => 4 + Data.Length,
    };

    /// <summary>Length of the normal (non-exception) response frame, so the master knows when the reply is complete.</summary>
    public int ExpectedResponseLength => Function switch
    {
        ModbusFunction.ReadCoils or ModbusFunction.ReadDiscreteInputs => 5 + ((Quantity + 7) / 8),
        ModbusFunction.ReadHoldingRegisters or ModbusFunction.ReadInputRegisters => 5 + (2 * Quantity),
        _ => 8,
    };

    /// <summary>Read Coils (01, Application Protocol §6.1).</summary>
    public static ModbusRequest ReadCoils(byte slave, ushort start, ushort count) => Read(ModbusFunction.ReadCoils, slave, start, count, ModbusLimits.MaxReadBits, "6.1");

    /// <summary>Read Discrete Inputs (02, §6.2).</summary>
    public static ModbusRequest ReadDiscreteInputs(byte slave, ushort start, ushort count) => Read(ModbusFunction.ReadDiscreteInputs, slave, start, count, ModbusLimits.MaxReadBits, "6.2");

    /// <summary>Read Holding Registers (03, §6.3).</summary>
    public static ModbusRequest ReadHoldingRegisters(byte slave, ushort start, ushort count) => Read(ModbusFunction.ReadHoldingRegisters, slave, start, count, ModbusLimits.MaxReadRegisters, "6.3");

    /// <summary>Read Input Registers (04, §6.4).</summary>
    public static ModbusRequest ReadInputRegisters(byte slave, ushort start, ushort count) => Read(ModbusFunction.ReadInputRegisters, slave, start, count, ModbusLimits.MaxReadRegisters, "6.4");

    /// <summary>Write Single Coil (05, §6.5): on is sent as 0xFF00, off as 0x0000.</summary>
    public static ModbusRequest WriteSingleCoil(byte slave, ushort address, bool on)
    {
        CheckSlave(slave, ModbusFunction.WriteSingleCoil);
        return new ModbusRequest(slave, (byte)ModbusFunction.WriteSingleCoil, address, 1, on ? (ushort)0xFF00 : (ushort)0x0000, default);
    }

    /// <summary>Write Single Register (06, §6.6).</summary>
    public static ModbusRequest WriteSingleRegister(byte slave, ushort address, ushort value)
    {
        CheckSlave(slave, ModbusFunction.WriteSingleRegister);
        return new ModbusRequest(slave, (byte)ModbusFunction.WriteSingleRegister, address, 1, value, default);
    }

    /// <summary>Write Multiple Coils (15, §6.11). <paramref name="packedCoils"/> holds the coil states packed
    /// LSB first (use <see cref="ModbusData.PackCoils"/>); its length must be ⌈count / 8⌉.</summary>
    public static ModbusRequest WriteMultipleCoils(byte slave, ushort start, ushort count, ReadOnlySpan<byte> packedCoils)
    {
        CheckSlave(slave, ModbusFunction.WriteMultipleCoils);
        CheckRange(ModbusFunction.WriteMultipleCoils, start, count, ModbusLimits.MaxWriteCoils, "6.11");
        if (packedCoils.Length != (count + 7) / 8)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Write Multiple Coils: {count} coils need {(count + 7) / 8} packed bytes, got {packedCoils.Length}."), nameof(packedCoils));
        }
        return new ModbusRequest(slave, (byte)ModbusFunction.WriteMultipleCoils, start, count, 0, packedCoils);
    }

    /// <summary>Write Multiple Registers (16, §6.12). <paramref name="bigEndianRegisters"/> holds the values as
    /// on the wire (use <see cref="ModbusData.WriteRegisters"/>); the quantity is its length / 2.</summary>
    public static ModbusRequest WriteMultipleRegisters(byte slave, ushort start, ReadOnlySpan<byte> bigEndianRegisters)
    {
        CheckSlave(slave, ModbusFunction.WriteMultipleRegisters);
        if (bigEndianRegisters.Length % 2 != 0)
        {
            throw new ArgumentException("Write Multiple Registers: register data must be an even number of bytes.", nameof(bigEndianRegisters));
        }
        int count = bigEndianRegisters.Length / 2;
        CheckRange(ModbusFunction.WriteMultipleRegisters, start, count, ModbusLimits.MaxWriteRegisters, "6.12");
        return new ModbusRequest(slave, (byte)ModbusFunction.WriteMultipleRegisters, start, (ushort)count, 0, bigEndianRegisters);
    }

    /// <summary>Writes the frame, CRC included, into <paramref name="destination"/>; returns its length.</summary>
    public int WriteTo(Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException($"Destination holds {destination.Length} bytes; the frame needs {Length}.", nameof(destination));
        }
        destination[0] = Slave;
        destination[1] = FunctionCode;
        int n;
        switch (FunctionCode)
        {
            case >= 1 and <= 4:
                BinaryPrimitives.WriteUInt16BigEndian(destination[2..], Address);
                BinaryPrimitives.WriteUInt16BigEndian(destination[4..], Quantity);
                n = 6;
                break;
            case 5 or 6:
                BinaryPrimitives.WriteUInt16BigEndian(destination[2..], Address);
                BinaryPrimitives.WriteUInt16BigEndian(destination[4..], Value);
                n = 6;
                break;
            case 0x0F or 0x10:
                BinaryPrimitives.WriteUInt16BigEndian(destination[2..], Address);
                BinaryPrimitives.WriteUInt16BigEndian(destination[4..], Quantity);
                destination[6] = (byte)Data.Length;
                Data.CopyTo(destination[7..]);
                n = 7 + Data.Length;
                break;
            default:
                Data.CopyTo(destination[2..]);
                n = 2 + Data.Length;
                break;
        }
        return ModbusCrc.Append(destination, n);
    }

    /// <summary>
    /// How long the request frame starting with <paramref name="prefix"/> is: the length if known,
    /// -1 if more bytes are needed to tell, 0 if the function is unknown (the frame then ends at a
    /// t3.5 silence, Serial Line v1.02 §2.5.1.1).
    /// </summary>
    public static int GetFrameLength(ReadOnlySpan<byte> prefix)
    {
        if (prefix.Length < 2) return -1;
        switch (prefix[1])
        {
            case >= 1 and <= 6:
                return 8;
            case 0x0F or 0x10:
                return prefix.Length < 7 ? -1 : 9 + prefix[6];
            default:
                return 0;
        }
    }

    /// <summary>
    /// Parses one complete request frame. Checks the length, the CRC and the layout of the function;
    /// an unknown function parses (its payload in <see cref="Data"/>) so a slave can answer exception 01.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> frame, out ModbusRequest request, out string? error)
    {
        request = default;
        if (frame.Length < 4)
        {
            error = string.Create(CultureInfo.InvariantCulture, $"request of {frame.Length} byte(s) is shorter than the 4-byte minimum");
            return false;
        }
        if (frame.Length > ModbusLimits.MaxFrameLength)
        {
            error = string.Create(CultureInfo.InvariantCulture, $"request of {frame.Length} bytes is longer than {ModbusLimits.MaxFrameLength}");
            return false;
        }
        if (!ModbusCrc.IsValid(frame))
        {
            error = CrcError(frame);
            return false;
        }
        byte slave = frame[0];
        byte function = frame[1];
        var pdu = frame[2..^2];
        switch (function)
        {
            case >= 1 and <= 6:
                if (pdu.Length != 4)
                {
                    error = string.Create(CultureInfo.InvariantCulture, $"function {function:D2} request must be 8 bytes, got {frame.Length}");
                    return false;
                }
                ushort address = BinaryPrimitives.ReadUInt16BigEndian(pdu);
                ushort second = BinaryPrimitives.ReadUInt16BigEndian(pdu[2..]);
                request = function <= 4
                    ? new ModbusRequest(slave, function, address, second, 0, default)
                    : new ModbusRequest(slave, function, address, 1, second, default);
                error = null;
                return true;
            case 0x0F or 0x10:
                if (pdu.Length < 5 || pdu.Length != 5 + pdu[4])
                {
                    error = string.Create(CultureInfo.InvariantCulture, $"function {function:D2} request length {frame.Length} does not match its byte count");
                    return false;
                }
                request = new ModbusRequest(slave, function, BinaryPrimitives.ReadUInt16BigEndian(pdu),
                    BinaryPrimitives.ReadUInt16BigEndian(pdu[2..]), 0, pdu[5..]);
                error = null;
                return true;
            default:
                request = new ModbusRequest(slave, function, 0, 0, 0, pdu);
                error = null;
                return true;
        }
    }

    /// <summary>
    /// Checks the quantity and byte-count rules of Application Protocol §6 (what a slave answers with
    /// exception 03 IllegalDataValue when broken). Unknown functions return true.
    /// </summary>
    public bool HasValidQuantity(out string? error)
    {
        error = Function switch
        {
            ModbusFunction.ReadCoils or ModbusFunction.ReadDiscreteInputs when Quantity is < 1 or > ModbusLimits.MaxReadBits =>
                QuantityError(ModbusLimits.MaxReadBits),
            ModbusFunction.ReadHoldingRegisters or ModbusFunction.ReadInputRegisters when Quantity is < 1 or > ModbusLimits.MaxReadRegisters =>
                QuantityError(ModbusLimits.MaxReadRegisters),
            ModbusFunction.WriteSingleCoil when Value is not (0x0000 or 0xFF00) =>
                string.Create(CultureInfo.InvariantCulture, $"coil value 0x{Value:X4} is neither 0xFF00 (on) nor 0x0000 (off)"),
            ModbusFunction.WriteMultipleCoils when Quantity is < 1 or > ModbusLimits.MaxWriteCoils =>
                QuantityError(ModbusLimits.MaxWriteCoils),
            ModbusFunction.WriteMultipleCoils when Data.Length != (Quantity + 7) / 8 =>
                string.Create(CultureInfo.InvariantCulture, $"byte count {Data.Length} does not fit {Quantity} coils"),
            ModbusFunction.WriteMultipleRegisters when Quantity is < 1 or > ModbusLimits.MaxWriteRegisters =>
                QuantityError(ModbusLimits.MaxWriteRegisters),
            ModbusFunction.WriteMultipleRegisters when Data.Length != Quantity * 2 =>
                string.Create(CultureInfo.InvariantCulture, $"byte count {Data.Length} does not fit {Quantity} registers"),
            _ => null,
        };
        return error is null;
    }

    internal static bool IsKnown(byte function) => function is >= 1 and <= 6 or 0x0F or 0x10;

    internal static string CrcError(ReadOnlySpan<byte> frame) => string.Create(CultureInfo.InvariantCulture,
        $"CRC mismatch: frame carries 0x{BinaryPrimitives.ReadUInt16LittleEndian(frame[^2..]):X4}, computed 0x{ModbusCrc.Compute(frame[..^2]):X4}");

    private string QuantityError(int max) => string.Create(CultureInfo.InvariantCulture, $"quantity {Quantity} is outside 1–{max}");

    private static ModbusRequest Read(ModbusFunction function, byte slave, ushort start, ushort count, int max, string section)
    {
        if (slave == ModbusLimits.BroadcastAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(slave), slave, $"{Describe(function)}: broadcast (address 0) can only carry writes (Serial Line v1.02 §2.1).");
        }
        CheckSlave(slave, function);
        CheckRange(function, start, count, max, section);
        return new ModbusRequest(slave, (byte)function, start, count, 0, default);
    }

    private static void CheckSlave(byte slave, ModbusFunction function)
    {
        if (slave > ModbusLimits.MaxSlaveAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(slave), slave,
                $"{Describe(function)}: slave address {slave} is reserved; use 1–247, or 0 to broadcast a write (Serial Line v1.02 §2.2).");
        }
    }

    private static void CheckRange(ModbusFunction function, ushort start, int count, int max, string section)
    {
        if (count < 1 || count > max)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count,
                $"{Describe(function)}: quantity {count} is outside 1–{max} (Modbus Application Protocol v1.1b3 §{section}).");
        }
        if (start + count > 0x10000)
        {
            throw new ArgumentOutOfRangeException(nameof(start), start,
                $"{Describe(function)}: {count} items from address {start} run past the last address 65535.");
        }
    }

    internal static string Describe(ModbusFunction function) => function switch
    {
        ModbusFunction.ReadCoils => "Read Coils (01)",
        ModbusFunction.ReadDiscreteInputs => "Read Discrete Inputs (02)",
        ModbusFunction.ReadHoldingRegisters => "Read Holding Registers (03)",
        ModbusFunction.ReadInputRegisters => "Read Input Registers (04)",
        ModbusFunction.WriteSingleCoil => "Write Single Coil (05)",
        ModbusFunction.WriteSingleRegister => "Write Single Register (06)",
        ModbusFunction.WriteMultipleCoils => "Write Multiple Coils (15)",
        ModbusFunction.WriteMultipleRegisters => "Write Multiple Registers (16)",
        _ => string.Create(CultureInfo.InvariantCulture, $"function {(byte)function:D2}"),
    };
}
