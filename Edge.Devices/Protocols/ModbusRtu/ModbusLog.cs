using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Diagnostics;

/// <summary>Log messages of the Modbus RTU master and simulator (event IDs 1200–1299).</summary>
public static partial class DeviceLog
{
    [LoggerMessage(EventId = 1201, Level = LogLevel.Debug,
        Message = "{Device}: slave {Slave} attempt {Attempt} of {Function} failed ({Reason}); retrying.")]
    public static partial void ModbusRetry(ILogger logger, string device, byte slave, int attempt, string function, string reason);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "{Message}")]
    public static partial void ModbusNoReply(ILogger logger, string message);

    // Debug: the caller gets a ModbusException with the same text; a poller hitting a wrong register map must not flood the log.
    [LoggerMessage(EventId = 1203, Level = LogLevel.Debug, Message = "{Device}: {Message}")]
    public static partial void ModbusExceptionResponse(ILogger logger, string device, string message);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "{Message}")]
    public static partial void ModbusBadReplies(ILogger logger, string message);

    [LoggerMessage(EventId = 1210, Level = LogLevel.Debug, Message = "{Device}: simulator ignored a frame: {Reason}")]
    public static partial void ModbusSimulatorIgnored(ILogger logger, string device, string reason);
}
