using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Diagnostics;

// Serial transport log messages: event IDs 1100–1149.
public static partial class DeviceLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information,
        Message = "Serial port {Port} opened at {Frame}, RS-485 direction control: {Rs485Mode}.")]
    public static partial void SerialPortOpened(ILogger logger, string port, string frame, string rs485Mode);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information,
        Message = "Serial port {Port}: the driver has no kernel RS-485 mode ({Reason}); falling back to {Fallback}. If the adapter switches direction by itself (most USB-RS485 dongles), set Rs485Mode to Off.")]
    public static partial void Rs485Fallback(ILogger logger, string port, string reason, string fallback);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error,
        Message = "Serial port {Port} is broken and must be reopened: {Reason}")]
    public static partial void SerialPortBroken(ILogger logger, string port, string reason);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Debug, Message = "Serial port {Port} closed.")]
    public static partial void SerialPortClosed(ILogger logger, string port);
}
