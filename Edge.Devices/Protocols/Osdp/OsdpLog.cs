using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Diagnostics;

/// <summary>OSDP log messages (event IDs 1100–1199).</summary>
public static partial class DeviceLog
{
    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning,
        Message = "{Device} (address {Address}) refused command 0x{Command:X2}: NAK {Code} ({Reason}). Check the reader's configuration (Secure Channel, supported commands).")]
    public static partial void OsdpNak(ILogger logger, string device, int address, byte command, int code, string reason);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information,
        Message = "{Device} (address {Address}) identified: vendor {Vendor:X6}, model {Model}, version {Version}, serial {Serial}, firmware {Major}.{Minor}.{Build}.")]
    public static partial void OsdpIdentified(ILogger logger, string device, int address, uint vendor, byte model, byte version, uint serial, byte major, byte minor, byte build);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Information,
        Message = "{Device} (address {Address}) reported an unexpected sequence number (NAK 4): restarting at SQN 0. This happens after the reader rebooted.")]
    public static partial void OsdpSequenceReset(ILogger logger, string device, int address);

}
