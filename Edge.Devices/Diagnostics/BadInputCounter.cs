using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Diagnostics;

/// <summary>
/// Counts malformed frames from one device and logs them at a bounded rate, so a reader spewing
/// garbage (a wrong baud rate, swapped A/B wires) produces one useful line per interval instead of
/// flooding the log and the disk.
/// </summary>
public sealed class BadInputCounter
{
    private readonly ILogger _logger;
    private readonly string _device;
    private readonly TimeProvider _time;
    private readonly long _intervalTicks;
    private long _lastLogTimestamp;
    private long _sinceLastLog;
    private bool _loggedOnce;

    public BadInputCounter(ILogger logger, string device, TimeSpan? interval = null, TimeProvider? time = null)
    {
        _logger = logger;
        _device = device;
        _time = time ?? TimeProvider.System;
        _intervalTicks = (long)((interval ?? TimeSpan.FromSeconds(30)).TotalSeconds * _time.TimestampFrequency);
    }

    /// <summary>Bad frames seen since start.</summary>
    public long Total { get; private set; }

    /// <summary>How many log lines were written, for tests that prove the log cannot be flooded.</summary>
    public long LogLinesWritten { get; private set; }

    /// <summary>Records one bad frame; logs at most one line per interval with the count and the latest reason.</summary>
    public void Record(string reason)
    {
        Total++;
        _sinceLastLog++;
        long now = _time.GetTimestamp();
        if (_loggedOnce && now - _lastLogTimestamp < _intervalTicks) return;
        _loggedOnce = true;
        _lastLogTimestamp = now;
        LogLinesWritten++;
        DeviceLog.BadFrames(_logger, _device, _sinceLastLog, reason);
        _sinceLastLog = 0;
    }
}

/// <summary>Source-generated log messages of the device layer, with central event IDs (1000–1999).</summary>
public static partial class DeviceLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning,
        Message = "{Device}: {Count} malformed frame(s) received, latest: {Reason}. Check the baud rate and parity in the hardware profile, the A/B wiring and the termination resistor.")]
    public static partial void BadFrames(ILogger logger, string device, long count, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning,
        Message = "{Device} is not answering (address {Address}): marked offline. Check power, the A/B wires and the address set on the device.")]
    public static partial void DeviceOffline(ILogger logger, string device, int address);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "{Device} (address {Address}) is answering again: online.")]
    public static partial void DeviceOnline(ILogger logger, string device, int address);
}
