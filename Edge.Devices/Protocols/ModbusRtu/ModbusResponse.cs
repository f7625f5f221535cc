using System.Buffers.Binary;
using System.Globalization;

namespace Kezekshi.Edge.Devices.Protocols.ModbusRtu;

/// <summary>A Modbus RTU response (slave → master), parsed against the request it answers, or written by a slave.</summary>
/// <remarks>
/// Layouts (Application Protocol v1.1b3 §6): reads answer with a byte count and the data; single writes
/// echo address and value; multiple writes echo address and quantity; an exception response is
/// function | 0x80 and one code byte (§7). Parsing checks the CRC, that the right slave answered the
/// right function, the length implied by the request and, for writes, the echo: a reply that passes
/// is the reply to this request.
/// </remarks>
public readonly ref struct ModbusResponse
{
    private ModbusResponse(byte slave, byte function, ModbusExceptionCode? exception, ushort address, ushort quantity, ushort value, ReadOnlySpan<byte> data)
    {
        Slave = slave;
        FunctionCode = function;
        ExceptionCode = exception;
        Address = address;
        Quantity = quantity;
        Value = value;
        Data = data;
    }

    /// <summary>The slave that answered.</summary>
    public byte Slave { get; }

    /// <summary>The function answered, without the exception bit.</summary>
    public byte FunctionCode { get; }

    /// <summary>The function answered as an enum.</summary>
    public ModbusFunction Function => (ModbusFunction)FunctionCode;

    /// <summary>Set when the slave answered with an exception response instead of data.</summary>
    public ModbusExceptionCode? ExceptionCode { get; }

    /// <summary>True for an exception response.</summary>
    public bool IsException => ExceptionCode.HasValue;

    /// <summary>For writes, the echoed start address; for reads, the request's.</summary>
    public ushort Address { get; }

    /// <summary>Number of items read or written.</summary>
    public ushort Quantity { get; }

    /// <summary>Echoed value of a single write.</summary>
    public ushort Value { get; }

    /// <summary>For reads, the data bytes after the byte count.</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>Coil or input <paramref name="index"/> (0-based from the request's start) of a read-bits response.</summary>
    public bool GetBit(int index) => (Data[index >> 3] & (1 << (index & 7))) != 0;

    /// <summary>Register <paramref name="index"/> (0-based from the request's start) of a read-registers response.</summary>
    public ushort GetRegister(int index) => BinaryPrimitives.ReadUInt16BigEndian(Data[(2 * index)..]);

    /// <summary>Copies the <see cref="Quantity"/> bits read into <paramref name="destination"/>.</summary>
    public void CopyBitsTo(Span<bool> destination) => ModbusData.UnpackCoils(Data, destination[..Quantity]);

    /// <summary>Copies the <see cref="Quantity"/> registers read into <paramref name="destination"/>.</summary>
    public void CopyRegistersTo(Span<ushort> destination) => ModbusData.ReadRegisters(Data, destination[..Quantity]);

    /// <summary>
    /// Total length of the response frame whose first bytes are <paramref name="prefix"/>, given the
    /// normal length the request implies: the exception length once the function byte shows 0x80.
    /// </summary>
    public static int GetFrameLength(ReadOnlySpan<byte> prefix, int expectedLength) =>
        prefix.Length >= 2 && (prefix[1] & 0x80) != 0 ? ModbusLimits.ExceptionResponseLength : expectedLength;

    /// <summary>Parses <paramref name="frame"/> as the reply to <paramref name="request"/>.</summary>
    public static bool TryParse(ReadOnlySpan<byte> frame, in ModbusRequest request, out ModbusResponse response, out string? error)
    {
        response = default;
        if (frame.Length < ModbusLimits.ExceptionResponseLength)
        {
            error = string.Create(CultureInfo.InvariantCulture, $"reply of {frame.Length} byte(s) is shorter than the 5-byte minimum");
            return false;
        }
        if (!ModbusCrc.IsValid(frame))
        {
            error = ModbusRequest.CrcError(frame);
            return false;
        }
        if (frame[0] != request.Slave)
        {
            error = string.Create(CultureInfo.InvariantCulture, $"reply from slave {frame[0]} to a request for slave {request.Slave}");
            return false;
        }
        byte function = frame[1];
        if (function == (request.FunctionCode | 0x80))
        {
            if (frame.Length != ModbusLimits.ExceptionResponseLength)
            {
                error = string.Create(CultureInfo.InvariantCulture, $"exception reply of {frame.Length} bytes, expected 5");
                return false;
            }
            response = new ModbusResponse(frame[0], request.FunctionCode, (ModbusExceptionCode)frame[2], request.Address, request.Quantity, 0, default);
            error = null;
            return true;
        }
        if (function != request.FunctionCode)
        {
            error = string.Create(CultureInfo.InvariantCulture, $"reply for function {function:D2} to a request for function {request.FunctionCode:D2}");
            return false;
        }
        int expected = request.ExpectedResponseLength;
        if (frame.Length != expected)
        {
            error = string.Create(CultureInfo.InvariantCulture, $"{ModbusRequest.Describe(request.Function)} reply of {frame.Length} bytes, expected {expected}");
            return false;
        }
        switch (request.Function)
        {
            case ModbusFunction.ReadCoils or ModbusFunction.ReadDiscreteInputs
                or ModbusFunction.ReadHoldingRegisters or ModbusFunction.ReadInputRegisters:
                if (frame[2] != expected - 5)
                {
                    error = string.Create(CultureInfo.InvariantCulture, $"byte count {frame[2]} does not match the {expected - 5} data bytes expected");
                    return false;
                }
                response = new ModbusResponse(frame[0], function, null, request.Address, request.Quantity, 0, frame[3..^2]);
                error = null;
                return true;
            case ModbusFunction.WriteSingleCoil or ModbusFunction.WriteSingleRegister:
                {
                    ushort address = BinaryPrimitives.ReadUInt16BigEndian(frame[2..]);
                    ushort value = BinaryPrimitives.ReadUInt16BigEndian(frame[4..]);
                    if (address != request.Address || value != request.Value)
                    {
                        error = string.Create(CultureInfo.InvariantCulture,
                            $"write echo {address}=0x{value:X4} does not match the request {request.Address}=0x{request.Value:X4}");
                        return false;
                    }
                    response = new ModbusResponse(frame[0], function, null, address, 1, value, default);
                    error = null;
                    return true;
                }
            case ModbusFunction.WriteMultipleCoils or ModbusFunction.WriteMultipleRegisters:
                {
                    ushort address = BinaryPrimitives.ReadUInt16BigEndian(frame[2..]);
                    ushort quantity = BinaryPrimitives.ReadUInt16BigEndian(frame[4..]);
                    if (address != request.Address || quantity != request.Quantity)
                    {
                        error = string.Create(CultureInfo.InvariantCulture,
                            $"write echo {quantity} from {address} does not match the request {request.Quantity} from {request.Address}");
                        return false;
                    }
                    response = new ModbusResponse(frame[0], function, null, address, quantity, 0, default);
                    error = null;
                    return true;
                }
            default:
                error = string.Create(CultureInfo.InvariantCulture, $"function {function:D2} is not supported by this master");
                return false;
        }
    }

    /// <summary>Writes an exception response (§7); returns its length (5).</summary>
    public static int WriteException(Span<byte> destination, byte slave, byte function, ModbusExceptionCode code)
    {
        destination[0] = slave;
        destination[1] = (byte)(function | 0x80);
        destination[2] = (byte)code;
        return ModbusCrc.Append(destination, 3);
    }

    /// <summary>Writes a Read Coils / Read Discrete Inputs response carrying <paramref name="bits"/>; returns its length.</summary>
    public static int WriteBits(Span<byte> destination, byte slave, ModbusFunction function, ReadOnlySpan<bool> bits)
    {
        destination[0] = slave;
        destination[1] = (byte)function;
        int count = ModbusData.PackCoils(bits, destination[3..]);
        destination[2] = (byte)count;
        return ModbusCrc.Append(destination, 3 + count);
    }

    /// <summary>Writes a Read Holding / Input Registers response carrying <paramref name="registers"/>; returns its length.</summary>
    public static int WriteRegisters(Span<byte> destination, byte slave, ModbusFunction function, ReadOnlySpan<ushort> registers)
    {
        destination[0] = slave;
        destination[1] = (byte)function;
        int count = ModbusData.WriteRegisters(registers, destination[3..]);
        destination[2] = (byte)count;
        return ModbusCrc.Append(destination, 3 + count);
    }

    /// <summary>Writes the echo response of a write (05/06: address and value; 15/16: address and quantity); returns its length (8).</summary>
    public static int WriteEcho(Span<byte> destination, byte slave, ModbusFunction function, ushort address, ushort valueOrQuantity)
    {
        destination[0] = slave;
        destination[1] = (byte)function;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], address);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], valueOrQuantity);
        return ModbusCrc.Append(destination, 6);
    }
}
