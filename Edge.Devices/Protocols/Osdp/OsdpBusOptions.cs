using Kezekshi.Edge.Devices.Transport;

namespace Kezekshi.Edge.Devices.Protocols.Osdp;

/// <summary>Settings of one <see cref="OsdpBus"/>.</summary>
public sealed class OsdpBusOptions
{
    /// <summary>The PD's turnaround added to the wire time of command and reply. OSDP v2.2 §5.7 allows a PD up to 200 ms to start its reply.</summary>
    public TimeSpan DeviceReplyTime { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Extra wait for the rest of a frame whose first bytes arrived (gaps between characters, USB adapter latency).</summary>
    public TimeSpan InterCharacterAllowance { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Resends of a command (same SQN) after a missing or garbled reply.</summary>
    public int Retries { get; set; } = 2;

    /// <summary>Consecutive failed exchanges (each with its retries) after which a reader is offline.</summary>
    public int OfflineAfterFailures { get; set; } = 3;

    /// <summary>First interval between probes of an offline reader; doubles up to <see cref="OfflineProbeMaxInterval"/>.</summary>
    public TimeSpan OfflineProbeInitialInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest interval between probes of an offline reader.</summary>
    public TimeSpan OfflineProbeMaxInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Shortest time between two round-robin cycles over all readers (queued commands do not wait for it).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>CRC-16 (true, recommended) or the 1-byte checksum in commands.</summary>
    public bool UseCrc { get; set; } = true;

    /// <summary>At most one "malformed frames" log line per this interval.</summary>
    public TimeSpan BadInputLogInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Card reads and keypad entries kept when nobody reads the channels (oldest dropped first).</summary>
    public int EventCapacity { get; set; } = 256;

    /// <summary>Secure Channel seam; null means <see cref="OsdpPlainChannel"/>.</summary>
    public IOsdpSecureChannel? SecureChannel { get; set; }
}

/// <summary>Snapshot of one reader on the bus.</summary>
/// <param name="Address">OSDP address 0–126.</param>
/// <param name="ReaderId">The reader as the gate configuration names it.</param>
/// <param name="IsOnline">True once it answered and until it stops answering.</param>
/// <param name="LastSeen">When it last answered, or null if never.</param>
/// <param name="ConsecutiveFailures">Failed exchanges since the last answer.</param>
/// <param name="Identity">Its osdp_PDID, once received.</param>
/// <param name="Capabilities">Its osdp_PDCAP, once received.</param>
public sealed record OsdpReaderStatus(byte Address, string ReaderId, bool IsOnline, DateTimeOffset? LastSeen, int ConsecutiveFailures, OsdpPdId? Identity, OsdpPdCapabilities? Capabilities);

/// <summary>A PD refused a command with osdp_NAK.</summary>
public sealed class OsdpNakException : DeviceException
{
    /// <summary>Creates the exception.</summary>
    public OsdpNakException(byte address, byte command, OsdpNakCode code)
        : base($"OSDP reader at address {address} refused command 0x{command:X2}: NAK {(int)code} ({OsdpNakCodeText.Describe(code)}).", isTransient: false)
    {
        Address = address;
        Command = command;
        Code = code;
    }

    /// <summary>Creates the exception.</summary>
    public OsdpNakException() { }
    /// <summary>Creates the exception.</summary>
    public OsdpNakException(string message) : base(message) { }
    /// <summary>Creates the exception.</summary>
    public OsdpNakException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The PD's address.</summary>
    public byte Address { get; }
    /// <summary>The refused command code.</summary>
    public byte Command { get; }
    /// <summary>The NAK error code.</summary>
    public OsdpNakCode Code { get; }
}
