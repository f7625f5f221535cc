namespace Kezekshi.Edge.Devices.Protocols.ModbusRtu;

/// <summary>The Modbus function codes this library speaks (Modbus Application Protocol v1.1b3 §6).</summary>
public enum ModbusFunction : byte
{
    /// <summary>01 (§6.1): read 1–2000 coils (relay outputs).</summary>
    ReadCoils = 0x01,
    /// <summary>02 (§6.2): read 1–2000 discrete inputs (pass sensors, fire alarm contact).</summary>
    ReadDiscreteInputs = 0x02,
    /// <summary>03 (§6.3): read 1–125 holding registers.</summary>
    ReadHoldingRegisters = 0x03,
    /// <summary>04 (§6.4): read 1–125 input registers.</summary>
    ReadInputRegisters = 0x04,
    /// <summary>05 (§6.5): switch one coil on (0xFF00) or off (0x0000).</summary>
    WriteSingleCoil = 0x05,
    /// <summary>06 (§6.6): write one holding register.</summary>
    WriteSingleRegister = 0x06,
    /// <summary>15 (§6.11): write 1–1968 coils.</summary>
    WriteMultipleCoils = 0x0F,
    /// <summary>16 (§6.12): write 1–123 holding registers.</summary>
    WriteMultipleRegisters = 0x10,
}

/// <summary>Exception codes a slave answers with instead of data (Modbus Application Protocol v1.1b3 §7).</summary>
public enum ModbusExceptionCode : byte
{
    /// <summary>01: the slave does not implement the function.</summary>
    IllegalFunction = 0x01,
    /// <summary>02: the address (or address + quantity) is outside what the slave has.</summary>
    IllegalDataAddress = 0x02,
    /// <summary>03: a value in the request is not allowed (quantity out of range, byte count mismatch, coil value not 0x0000/0xFF00).</summary>
    IllegalDataValue = 0x03,
    /// <summary>04: the slave failed while executing the request.</summary>
    ServerDeviceFailure = 0x04,
    /// <summary>05: accepted, will take long (programming commands).</summary>
    Acknowledge = 0x05,
    /// <summary>06: the slave is busy with a long command; retry later.</summary>
    ServerDeviceBusy = 0x06,
    /// <summary>08: parity error in the slave's extended memory.</summary>
    MemoryParityError = 0x08,
    /// <summary>0A: a gateway could not route the request.</summary>
    GatewayPathUnavailable = 0x0A,
    /// <summary>0B: a gateway's target did not answer.</summary>
    GatewayTargetDeviceFailedToRespond = 0x0B,
}

/// <summary>Which queue a request waits in while the half-duplex bus is busy.</summary>
/// <remarks>
/// RS-485 carries one request at a time. Relay commands that open a turnstile after a card decision are
/// <see cref="Urgent"/> and go before queued <see cref="Normal"/> input polls, so continuous polling of
/// pass sensors never delays the gate by more than the one exchange already on the wire.
/// </remarks>
public enum ModbusPriority
{
    /// <summary>Background traffic: input polling, status reads.</summary>
    Normal = 0,
    /// <summary>Served before every queued <see cref="Normal"/> request (relay pulses, arm release).</summary>
    Urgent = 1,
}

/// <summary>Numeric limits of Modbus RTU from the specifications.</summary>
public static class ModbusLimits
{
    /// <summary>Largest RTU frame (ADU): address + 253-byte PDU + CRC (Serial Line v1.02 §2.5.1.1).</summary>
    public const int MaxFrameLength = 256;
    /// <summary>Most coils or discrete inputs per read, 0x07D0 (Application Protocol §6.1, §6.2).</summary>
    public const int MaxReadBits = 2000;
    /// <summary>Most registers per read, 0x007D (Application Protocol §6.3, §6.4).</summary>
    public const int MaxReadRegisters = 125;
    /// <summary>Most coils per Write Multiple Coils, 0x07B0 (Application Protocol §6.11).</summary>
    public const int MaxWriteCoils = 1968;
    /// <summary>Most registers per Write Multiple Registers, 0x007B (Application Protocol §6.12).</summary>
    public const int MaxWriteRegisters = 123;
    /// <summary>Highest unicast slave address; 0 is broadcast, 248–255 are reserved (Serial Line v1.02 §2.2).</summary>
    public const byte MaxSlaveAddress = 247;
    /// <summary>The broadcast address: every slave executes the write, none answers.</summary>
    public const byte BroadcastAddress = 0;
    /// <summary>Length of an exception response: address, function | 0x80, code, CRC.</summary>
    public const int ExceptionResponseLength = 5;
}
