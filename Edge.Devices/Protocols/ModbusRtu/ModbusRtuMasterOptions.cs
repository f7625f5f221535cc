namespace Kezekshi.Edge.Devices.Protocols.ModbusRtu;

/// <summary>Settings of a <see cref="ModbusRtuMaster"/>: reply times, retries, per-slave overrides.</summary>
public sealed class ModbusRtuMasterOptions
{
    /// <summary>How long a slave takes to start answering once the request is on the wire, unless overridden per slave.
    /// Reply timeout = wire time of request and reply (11 bits per character) + this.</summary>
    public TimeSpan DefaultReplyTime { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Per-slave settings by address (a slow input module, a name for the messages).</summary>
    public IDictionary<byte, ModbusSlaveOptions> Slaves { get; } = new Dictionary<byte, ModbusSlaveOptions>();

    /// <summary>Extra attempts after a missing or garbled reply (exception responses are never retried).</summary>
    public int Retries { get; set; } = 2;

    /// <summary>
    /// Pause after a broadcast write so slaves can execute it before the next request
    /// ("turnaround delay", Serial Line v1.02 §2.4.1; typically 100–200 ms).
    /// </summary>
    public TimeSpan BroadcastTurnaround { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Lower bound for the inter-frame silence (t3.5). Zero follows the spec exactly; USB-serial adapters
    /// that deliver bytes in bursts (latency timer) may need a few milliseconds here so a reply is not cut
    /// in two at a USB packet boundary.
    /// </summary>
    public TimeSpan MinimumFrameSilence { get; set; } = TimeSpan.Zero;

    /// <summary>Interval of the rate-limited log line about garbled replies.</summary>
    public TimeSpan BadReplyLogInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Reply time for <paramref name="slave"/>.</summary>
    public TimeSpan ReplyTimeFor(byte slave) =>
        Slaves.TryGetValue(slave, out var s) && s.ReplyTime is { } t ? t : DefaultReplyTime;

    /// <summary>What messages call <paramref name="slave"/> ("relay board"), "Modbus slave" by default.</summary>
    public string DescriptionFor(byte slave) =>
        Slaves.TryGetValue(slave, out var s) && !string.IsNullOrWhiteSpace(s.Description) ? s.Description : "Modbus slave";
}

/// <summary>Settings for one slave address.</summary>
public sealed class ModbusSlaveOptions
{
    /// <summary>What IT calls the device, used in messages: "relay board", "input module".</summary>
    public string? Description { get; set; }

    /// <summary>Overrides <see cref="ModbusRtuMasterOptions.DefaultReplyTime"/> for this slave.</summary>
    public TimeSpan? ReplyTime { get; set; }
}
