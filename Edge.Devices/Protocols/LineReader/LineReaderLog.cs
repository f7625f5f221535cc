using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Diagnostics;

/// <summary>Log messages of line-oriented card readers (event IDs 1300–1399).</summary>
public static partial class DeviceLog
{
    [LoggerMessage(EventId = 1301, Level = LogLevel.Debug, Message = "{Reader}: card {Card} read.")]
    public static partial void LineReaderCard(ILogger logger, string reader, ulong card);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Debug, Message = "{Reader}: card {Card} seen again within the debounce window, ignored.")]
    public static partial void LineReaderDuplicate(ILogger logger, string reader, ulong card);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Warning,
        Message = "{Reader}: card read {Card} dropped because the gate did not consume earlier reads in time; check that the gate service is running.")]
    public static partial void LineReaderReadDropped(ILogger logger, string reader, ulong card);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Information, Message = "{Reader}: stopped reading ({Reason}).")]
    public static partial void LineReaderStopped(ILogger logger, string reader, string reason);
}
