using System.Globalization;
using Kezekshi.Edge.Devices.Transport;

namespace Kezekshi.Edge.Devices.Protocols.ModbusRtu;

/// <summary>A slave answered with an exception response (Application Protocol v1.1b3 §7).</summary>
/// <remarks>
/// Not transient: the slave heard the request and refused it, so repeating the same request gets the
/// same answer. The message names the code and what was asked, e.g.
/// "IllegalDataAddress: register 40 does not exist on slave 3".
/// </remarks>
public sealed class ModbusException : DeviceException
{
    /// <summary>Creates the exception for <paramref name="code"/> answered by <paramref name="slave"/> to a request.</summary>
    public ModbusException(byte slave, ModbusFunction function, ushort address, ushort quantity, ModbusExceptionCode code)
        : base(Describe(slave, function, address, quantity, code), isTransient: false)
    {
        Slave = slave;
        Function = function;
        Address = address;
        Code = code;
    }

    /// <summary>The slave that refused.</summary>
    public byte Slave { get; }

    /// <summary>The function it refused.</summary>
    public ModbusFunction Function { get; }

    /// <summary>The start address of the refused request.</summary>
    public ushort Address { get; }

    /// <summary>The exception code.</summary>
    public ModbusExceptionCode Code { get; }

    /// <summary>The code's name, or "Exception0xNN" for a code the spec does not define.</summary>
    public static string CodeName(ModbusExceptionCode code) =>
        Enum.IsDefined(code) ? code.ToString() : string.Create(CultureInfo.InvariantCulture, $"Exception0x{(byte)code:X2}");

    private static string Describe(byte slave, ModbusFunction function, ushort address, ushort quantity, ModbusExceptionCode code)
    {
        string what = Items(function, address, quantity);
        string name = CodeName(code);
        return code switch
        {
            ModbusExceptionCode.IllegalFunction => string.Create(CultureInfo.InvariantCulture,
                $"{name}: slave {slave} does not support {ModbusRequest.Describe(function)}"),
            ModbusExceptionCode.IllegalDataAddress => string.Create(CultureInfo.InvariantCulture,
                $"{name}: {what} {(quantity > 1 ? "do" : "does")} not exist on slave {slave}"),
            ModbusExceptionCode.IllegalDataValue => string.Create(CultureInfo.InvariantCulture,
                $"{name}: slave {slave} rejected the value or quantity of {ModbusRequest.Describe(function)} at {what}"),
            ModbusExceptionCode.ServerDeviceFailure => string.Create(CultureInfo.InvariantCulture,
                $"{name}: slave {slave} failed while executing {ModbusRequest.Describe(function)} at {what}"),
            ModbusExceptionCode.ServerDeviceBusy => string.Create(CultureInfo.InvariantCulture,
                $"{name}: slave {slave} is busy and did not execute {ModbusRequest.Describe(function)} at {what}"),
            _ => string.Create(CultureInfo.InvariantCulture,
                $"{name}: slave {slave} answered {ModbusRequest.Describe(function)} at {what} with exception code {(byte)code}"),
        };
    }

    private static string Items(ModbusFunction function, ushort address, ushort quantity)
    {
        string kind = function switch
        {
            ModbusFunction.ReadCoils or ModbusFunction.WriteSingleCoil or ModbusFunction.WriteMultipleCoils => "coil",
            ModbusFunction.ReadDiscreteInputs => "discrete input",
            ModbusFunction.ReadInputRegisters => "input register",
            _ => "register",
        };
        return quantity > 1
            ? string.Create(CultureInfo.InvariantCulture, $"{kind}s {address}–{address + quantity - 1}")
            : string.Create(CultureInfo.InvariantCulture, $"{kind} {address}");
    }
}

/// <summary>A slave did not answer in time, after all retries. Transient: power, wiring or address may be fixed.</summary>
public sealed class ModbusNoReplyException : DeviceException
{
    /// <summary>Creates the exception; <paramref name="message"/> should tell IT what to check.</summary>
    public ModbusNoReplyException(byte slave, string message) : base(message, isTransient: true) => Slave = slave;

    /// <summary>The slave that stayed silent.</summary>
    public byte Slave { get; }
}

/// <summary>A slave answered only with garbled frames (CRC errors, wrong length), after all retries. Transient.</summary>
public sealed class ModbusBadReplyException : DeviceException
{
    /// <summary>Creates the exception; <paramref name="message"/> should tell IT what to check.</summary>
    public ModbusBadReplyException(byte slave, string message) : base(message, isTransient: true) => Slave = slave;

    /// <summary>The slave whose replies were garbled.</summary>
    public byte Slave { get; }
}
