namespace Kezekshi.Edge.Devices.Transport;

/// <summary>How long bytes take on a serial line, and the timeouts derived from that.</summary>
/// <remarks>
/// One character is 10 bits on the wire for 8N1 (start + 8 data + stop); we use 11 when parity or
/// a second stop bit is configured. Timeouts are bytes × bits / baud plus the device's own reply time,
/// never a fixed guess (CONVENTIONS.md, "Devices and protocols").
/// </remarks>
public static class WireTime
{
    /// <summary>Time to send <paramref name="bytes"/> characters at <paramref name="baudRate"/>.</summary>
    public static TimeSpan For(int bytes, int baudRate, int bitsPerCharacter = 10)
    {
        if (baudRate <= 0) return TimeSpan.Zero;
        return TimeSpan.FromTicks((long)bytes * bitsPerCharacter * TimeSpan.TicksPerSecond / baudRate);
    }

    /// <summary>Reply timeout: the request and the expected reply on the wire, plus the device's turnaround.</summary>
    public static TimeSpan ReplyTimeout(int requestBytes, int expectedReplyBytes, int baudRate, TimeSpan deviceReplyTime) =>
        For(requestBytes + expectedReplyBytes, baudRate) + deviceReplyTime;
}
