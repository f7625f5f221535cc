namespace Kezekshi.Edge.Devices.Transport.Serial;

/// <summary>An open serial port: a byte transport plus what was asked for and what the driver could do.</summary>
/// <remarks>
/// Drivers take <see cref="IByteTransport"/>; this interface is for the code that opens ports
/// (the hardware profile loader, <c>doctor</c>), which reports how RS-485 direction control ended up.
/// </remarks>
public interface ISerialPort : IByteTransport
{
    /// <summary>The settings the port was opened with.</summary>
    SerialPortSettings Settings { get; }

    /// <summary>
    /// The RS-485 direction control actually in use: never <see cref="Rs485Mode.Auto"/>, which
    /// resolves at open to <see cref="Rs485Mode.Kernel"/>, <see cref="Rs485Mode.RtsToggle"/> or <see cref="Rs485Mode.Off"/>.
    /// </summary>
    Rs485Mode EffectiveRs485Mode { get; }
}
