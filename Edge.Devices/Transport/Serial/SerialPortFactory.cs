using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Transport.Serial;

/// <summary>Opens a serial port with the implementation for the operating system we run on.</summary>
/// <remarks>
/// The one place that knows there are two implementations, so drivers and the hardware-profile
/// loader never branch on the platform (CONVENTIONS.md: no "one <c>if</c> per transport" in drivers).
/// </remarks>
public static class SerialPortFactory
{
    /// <summary>
    /// Validates <paramref name="settings"/> and opens the port: <see cref="WindowsSerialPort"/> on
    /// Windows, <see cref="LinuxSerialPort"/> on Linux.
    /// </summary>
    /// <exception cref="ArgumentException">The settings are invalid (the message lists every problem).</exception>
    /// <exception cref="TransportException">The port cannot be opened or configured (the message says what to check).</exception>
    /// <exception cref="PlatformNotSupportedException">Neither Windows nor Linux.</exception>
    public static ISerialPort Open(SerialPortSettings settings, ILogger? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (OperatingSystem.IsWindows()) return WindowsSerialPort.Open(settings, logger, time);
        if (OperatingSystem.IsLinux()) return LinuxSerialPort.Open(settings, logger, time);
        throw new PlatformNotSupportedException($"Serial port {settings.PortName}: serial ports are supported on Linux and Windows only.");
    }
}
