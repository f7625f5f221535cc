using System.Buffers.Binary;

namespace Kezekshi.Edge.Devices.Protocols.Osdp;

/// <summary>What <see cref="OsdpFrame.TryParse"/> found at the start of a buffer.</summary>
public enum OsdpParseStatus
{
    /// <summary>A complete, checked frame; <c>consumed</c> is its length.</summary>
    Ok,
    /// <summary>More bytes are needed; <c>consumed</c> counts leading bytes that can be dropped (0 if the buffer starts with a SOM).</summary>
    Incomplete,
    /// <summary>Bad input; drop <c>consumed</c> bytes and parse again (that resynchronises on the next SOM).</summary>
    Invalid,
}

/// <summary>Why a frame was rejected.</summary>
public enum OsdpFrameError
{
    /// <summary>No error.</summary>
    None,
    /// <summary>Bytes before a start-of-message (0x53): noise, a wrong baud rate, or the tail of a lost frame.</summary>
    Garbage,
    /// <summary>The LEN field is shorter than the smallest packet or longer than <see cref="OsdpFrame.MaxLength"/>.</summary>
    BadLength,
    /// <summary>The CRC-16 does not match.</summary>
    BadCrc,
    /// <summary>The 1-byte checksum does not match.</summary>
    BadChecksum,
    /// <summary>The security block length does not fit in the packet.</summary>
    BadSecurityBlock,
    /// <summary>The frame stopped before LEN bytes arrived (only reported by callers at the end of a reply window).</summary>
    Truncated,
}

/// <summary>Outcome of <see cref="OsdpFrame.TryParse"/>: status, reason, and the header fields when they could be read.</summary>
/// <param name="Status">Ok, Incomplete or Invalid.</param>
/// <param name="Error">Why the frame was rejected (None unless Invalid).</param>
/// <param name="HeaderAddress">The raw ADDR byte of a rejected frame whose header was readable, else -1 (a PD uses it to NAK).</param>
/// <param name="HeaderControl">The raw CTRL byte of a rejected frame whose header was readable, else -1.</param>
public readonly record struct OsdpParseResult(OsdpParseStatus Status, OsdpFrameError Error, int HeaderAddress = -1, int HeaderControl = -1)
{
    /// <summary>Short, allocation-free text of <see cref="Error"/> for logs.</summary>
    public string Reason => OsdpFrame.Describe(Error);
}

/// <summary>
/// One OSDP packet, parsed from or written to a span without allocating. Its <see cref="Data"/> and
/// <see cref="SecurityBlockData"/> point into the buffer it was parsed from.
/// </summary>
/// <remarks>
/// OSDP v2.2 §5 (packet structure): SOM 0x53, ADDR (bit 7 set in replies, 0x7F broadcast), LEN (LSB, MSB:
/// the whole packet from SOM to the last check byte), CTRL (bits 0–1 SQN, bit 2 CRC-16 instead of checksum,
/// bit 3 security control block present, bit 7 multi-part), optional security block (SEC_BLK_LEN, SEC_BLK_TYPE,
/// SEC_BLK_DATA), command or reply code, data, then CRC-16 (LSB first) or checksum.
/// </remarks>
public readonly ref struct OsdpFrame
{
    /// <summary>Start of message.</summary>
    public const byte StartOfMessage = 0x53;
    /// <summary>Broadcast address (commands only).</summary>
    public const byte BroadcastAddress = 0x7F;
    /// <summary>Largest packet we accept. The spec leaves the limit to the receive-buffer capability (function code 10); small limits also bound how long a length lie can stall a reply window.</summary>
    public const int MaxLength = 1024;
    /// <summary>SOM, ADDR, LEN (2), CTRL.</summary>
    public const int HeaderLength = 5;

    private const byte CtrlSequenceMask = 0x03;
    private const byte CtrlCrc = 0x04;
    private const byte CtrlSecurityBlock = 0x08;
    private const byte CtrlMultiPart = 0x80;

    /// <summary>Creates a frame to write.</summary>
    /// <param name="address">PD address 0–0x7F (without the reply bit).</param>
    /// <param name="isReply">True for PD → CP (sets bit 7 of ADDR).</param>
    /// <param name="sequence">SQN 0–3.</param>
    /// <param name="code">Command or reply code.</param>
    /// <param name="data">Payload after the code.</param>
    /// <param name="useCrc">CRC-16 (true, what every current device uses) or 1-byte checksum.</param>
    public OsdpFrame(byte address, bool isReply, byte sequence, byte code, ReadOnlySpan<byte> data, bool useCrc = true)
    {
        Address = (byte)(address & 0x7F);
        IsReply = isReply;
        Sequence = (byte)(sequence & CtrlSequenceMask);
        Code = code;
        Data = data;
        UseCrc = useCrc;
    }

    /// <summary>Creates a frame carrying a security control block (for Secure Channel).</summary>
    public OsdpFrame(byte address, bool isReply, byte sequence, byte code, ReadOnlySpan<byte> data, byte securityBlockType, ReadOnlySpan<byte> securityBlockData, bool useCrc = true)
        : this(address, isReply, sequence, code, data, useCrc)
    {
        HasSecurityBlock = true;
        SecurityBlockType = securityBlockType;
        SecurityBlockData = securityBlockData;
    }

    /// <summary>PD address (bit 7 removed).</summary>
    public byte Address { get; }
    /// <summary>True when bit 7 of ADDR was set: a reply from a PD.</summary>
    public bool IsReply { get; }
    /// <summary>Sequence number 0–3 (CTRL bits 0–1).</summary>
    public byte Sequence { get; }
    /// <summary>CRC-16 (true) or checksum (false) (CTRL bit 2).</summary>
    public bool UseCrc { get; }
    /// <summary>CTRL bit 7: part of a multi-part message.</summary>
    public bool IsMultiPart { get; init; }
    /// <summary>CTRL bit 3: a security control block follows the header.</summary>
    public bool HasSecurityBlock { get; }
    /// <summary>SEC_BLK_TYPE (e.g. 0x11–0x18 during Secure Channel set-up).</summary>
    public byte SecurityBlockType { get; }
    /// <summary>SEC_BLK_DATA (may be empty).</summary>
    public ReadOnlySpan<byte> SecurityBlockData { get; }
    /// <summary>Command (0x60–0x7F…) or reply (0x40–0x5F, 0x79…) code.</summary>
    public byte Code { get; }
    /// <summary>Payload after the code, before the check bytes.</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>Bytes on the wire.</summary>
    public int Length => HeaderLength + (HasSecurityBlock ? 2 + SecurityBlockData.Length : 0) + 1 + Data.Length + (UseCrc ? 2 : 1);

    /// <summary>Writes the frame with its check bytes; returns the number of bytes written.</summary>
    /// <exception cref="ArgumentException">The destination is too small or the frame exceeds <see cref="MaxLength"/>.</exception>
    public int Write(Span<byte> destination)
    {
        int length = Length;
        if (length > MaxLength) throw new ArgumentException($"OSDP frame of {length} bytes exceeds {MaxLength}.", nameof(destination));
        if (destination.Length < length) throw new ArgumentException("Destination too small for the OSDP frame.", nameof(destination));
        if (HasSecurityBlock && SecurityBlockData.Length > 253) throw new ArgumentException("Security block data too long.", nameof(destination));
        destination[0] = StartOfMessage;
        destination[1] = (byte)(Address | (IsReply ? 0x80 : 0));
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], (ushort)length);
        destination[4] = (byte)(Sequence | (UseCrc ? CtrlCrc : 0) | (HasSecurityBlock ? CtrlSecurityBlock : 0) | (IsMultiPart ? CtrlMultiPart : 0));
        int at = HeaderLength;
        if (HasSecurityBlock)
        {
            destination[at] = (byte)(2 + SecurityBlockData.Length);
            destination[at + 1] = SecurityBlockType;
            SecurityBlockData.CopyTo(destination[(at + 2)..]);
            at += 2 + SecurityBlockData.Length;
        }
        destination[at++] = Code;
        Data.CopyTo(destination[at..]);
        at += Data.Length;
        if (UseCrc)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination[at..], OsdpChecks.Crc16(destination[..at]));
            at += 2;
        }
        else
        {
            destination[at] = OsdpChecks.Checksum(destination[..at]);
            at++;
        }
        return at;
    }

    /// <summary>
    /// Parses the frame at the start of <paramref name="buffer"/>. Leading bytes that are not a SOM are reported
    /// as <see cref="OsdpFrameError.Garbage"/>; a bad length or check value drops only the SOM, so parsing again
    /// resynchronises on the next SOM (which may be the real start of a frame).
    /// </summary>
    public static OsdpParseResult TryParse(ReadOnlySpan<byte> buffer, out OsdpFrame frame, out int consumed)
    {
        frame = default;
        if (buffer.IsEmpty)
        {
            consumed = 0;
            return new OsdpParseResult(OsdpParseStatus.Incomplete, OsdpFrameError.None);
        }
        if (buffer[0] != StartOfMessage)
        {
            int som = buffer.IndexOf(StartOfMessage);
            consumed = som < 0 ? buffer.Length : som;
            return new OsdpParseResult(OsdpParseStatus.Invalid, OsdpFrameError.Garbage);
        }
        consumed = 0;
        if (buffer.Length < HeaderLength) return new OsdpParseResult(OsdpParseStatus.Incomplete, OsdpFrameError.None);

        byte addr = buffer[1];
        byte ctrl = buffer[4];
        int length = BinaryPrimitives.ReadUInt16LittleEndian(buffer[2..]);
        bool useCrc = (ctrl & CtrlCrc) != 0;
        bool hasScb = (ctrl & CtrlSecurityBlock) != 0;
        int minimum = HeaderLength + 1 + (useCrc ? 2 : 1) + (hasScb ? 2 : 0);
        if (length < minimum || length > MaxLength)
        {
            consumed = 1;
            return new OsdpParseResult(OsdpParseStatus.Invalid, OsdpFrameError.BadLength, addr, ctrl);
        }
        if (buffer.Length < length) return new OsdpParseResult(OsdpParseStatus.Incomplete, OsdpFrameError.None);

        var packet = buffer[..length];
        int checkLength = useCrc ? 2 : 1;
        var covered = packet[..^checkLength];
        if (useCrc)
        {
            if (BinaryPrimitives.ReadUInt16LittleEndian(packet[^2..]) != OsdpChecks.Crc16(covered))
            {
                consumed = 1;
                return new OsdpParseResult(OsdpParseStatus.Invalid, OsdpFrameError.BadCrc, addr, ctrl);
            }
        }
        else if (packet[^1] != OsdpChecks.Checksum(covered))
        {
            consumed = 1;
            return new OsdpParseResult(OsdpParseStatus.Invalid, OsdpFrameError.BadChecksum, addr, ctrl);
        }

        int at = HeaderLength;
        byte scbType = 0;
        ReadOnlySpan<byte> scbData = default;
        if (hasScb)
        {
            int scbLength = packet[at];
            if (scbLength < 2 || at + scbLength >= covered.Length)
            {
                consumed = length;
                return new OsdpParseResult(OsdpParseStatus.Invalid, OsdpFrameError.BadSecurityBlock, addr, ctrl);
            }
            scbType = packet[at + 1];
            scbData = packet.Slice(at + 2, scbLength - 2);
            at += scbLength;
        }
        byte code = packet[at];
        var data = covered[(at + 1)..];
        byte address = (byte)(addr & 0x7F);
        bool isReply = (addr & 0x80) != 0;
        byte sqn = (byte)(ctrl & CtrlSequenceMask);
        frame = hasScb
            ? new OsdpFrame(address, isReply, sqn, code, data, scbType, scbData, useCrc) { IsMultiPart = (ctrl & CtrlMultiPart) != 0 }
            : new OsdpFrame(address, isReply, sqn, code, data, useCrc) { IsMultiPart = (ctrl & CtrlMultiPart) != 0 };
        consumed = length;
        return new OsdpParseResult(OsdpParseStatus.Ok, OsdpFrameError.None);
    }

    internal static string Describe(OsdpFrameError error) => error switch
    {
        OsdpFrameError.None => "none",
        OsdpFrameError.Garbage => "bytes before start of message",
        OsdpFrameError.BadLength => "length field out of range",
        OsdpFrameError.BadCrc => "CRC-16 mismatch",
        OsdpFrameError.BadChecksum => "checksum mismatch",
        OsdpFrameError.BadSecurityBlock => "security block does not fit",
        OsdpFrameError.Truncated => "frame cut short",
        _ => "unknown",
    };
}
