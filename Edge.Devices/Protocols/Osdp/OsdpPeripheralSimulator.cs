using System.Collections.Concurrent;
using Kezekshi.Edge.Devices.Transport;

namespace Kezekshi.Edge.Devices.Protocols.Osdp;

/// <summary>A command the simulator received, with <see cref="TimeProvider.GetTimestamp"/> at arrival.</summary>
public readonly record struct OsdpRecorded<T>(T Command, long Timestamp);

/// <summary>
/// The peripheral-device (PD) side of OSDP, in code: one or several simulated readers answering on one bus.
/// It reuses the production codec, so tests of <see cref="OsdpBus"/> exercise real frames end to end.
/// </summary>
/// <remarks>
/// Behaves as OSDP v2.2 §5.6 asks of a PD: answers only its own address, resends its last reply when it sees the
/// same SQN again (the CP retried), restarts on SQN 0, NAKs a bad check value (1), a bad length (2), an unknown
/// command (3) and an unexpected SQN (4).
/// </remarks>
public sealed class OsdpPeripheralSimulator : IAsyncDisposable
{
    private readonly IByteTransport _transport;
    private readonly bool _ownsTransport;
    private readonly TimeProvider _time;
    private readonly OsdpFrameAssembler _assembler = new();
    private readonly byte[] _tx = new byte[OsdpFrame.MaxLength];
    private readonly byte[] _payload = new byte[OsdpFrame.MaxLength];
    private readonly ConcurrentDictionary<byte, OsdpSimulatedReader> _devices = new();
    private long _badFrames;

    /// <summary>Creates the simulator on the PD end of a transport.</summary>
    public OsdpPeripheralSimulator(IByteTransport transport, bool ownsTransport = false, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _transport = transport;
        _ownsTransport = ownsTransport;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Malformed frames received (bad CRC, bad length, garbage).</summary>
    public long BadFramesReceived => Interlocked.Read(ref _badFrames);

    /// <summary>Hosts a reader at <paramref name="address"/>.</summary>
    public OsdpSimulatedReader AddDevice(byte address, OsdpPdId? identity = null, OsdpPdCapabilities? capabilities = null)
    {
        var device = new OsdpSimulatedReader(address,
            identity ?? new OsdpPdId(0x00A0B1, 1, 1, 1000u + address, 2, 2, 0),
            capabilities ?? new OsdpPdCapabilities([new OsdpCapability(4, 1, 1), new OsdpCapability(5, 1, 1), new OsdpCapability(9, 1, 0), new OsdpCapability(3, 1, 0)]));
        if (!_devices.TryAdd(address, device)) throw new ArgumentException($"Address {address} is already simulated.", nameof(address));
        return device;
    }

    /// <summary>The simulated reader at <paramref name="address"/>.</summary>
    public OsdpSimulatedReader Device(byte address) =>
        _devices.TryGetValue(address, out var d) ? d : throw new ArgumentException($"No simulated reader at address {address}.", nameof(address));

    /// <summary>Queues a raw card read (answer to the next POLL): <paramref name="bitCount"/> bits of <paramref name="bits"/>, right-aligned.</summary>
    public void PresentCard(byte address, ulong bits, int bitCount, byte readerNumber = 0)
    {
        Span<byte> packed = stackalloc byte[8];
        int n = OsdpRawCardData.PackBits(bits, bitCount, packed);
        var raw = new OsdpRawCardData(readerNumber, 1, (ushort)bitCount, packed[..n]);
        var data = new byte[raw.Length];
        raw.Write(data);
        Device(address).Events.Enqueue(((byte)OsdpReplyCode.RawCardData, data));
    }

    /// <summary>Queues a card read as characters (osdp_FMT), e.g. the decimal number printed on the card.</summary>
    public void PresentCardFormatted(byte address, string characters, byte readerNumber = 0)
    {
        ArgumentNullException.ThrowIfNull(characters);
        var chars = System.Text.Encoding.ASCII.GetBytes(characters);
        var fmt = new OsdpFormattedCardData(readerNumber, 0, chars);
        var data = new byte[fmt.Length];
        fmt.Write(data);
        Device(address).Events.Enqueue(((byte)OsdpReplyCode.FormattedCardData, data));
    }

    /// <summary>Queues keys typed on the keypad ('0'–'9', '*', '#').</summary>
    public void PressKeys(byte address, string keys, byte readerNumber = 0)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var digits = new byte[keys.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            digits[i] = OsdpKeypadData.FromChar(keys[i]);
            if (digits[i] == 0) throw new ArgumentException($"'{keys[i]}' is not a keypad key.", nameof(keys));
        }
        var keypad = new OsdpKeypadData(readerNumber, digits);
        var data = new byte[keypad.Length];
        keypad.Write(data);
        Device(address).Events.Enqueue(((byte)OsdpReplyCode.Keypad, data));
    }

    /// <summary>Stops (or resumes) answering, like an unplugged reader. A resumed reader has forgotten its last SQN, as after a power cycle.</summary>
    public void Silent(byte address, bool silent = true)
    {
        var device = Device(address);
        device.IsSilent = silent;
        if (!silent) device.ForgetSequence();
    }

    /// <summary>Corrupts one byte of the next reply on its way out (the stored copy for a resend stays intact).</summary>
    public void GarbleNextReply(byte address) => Device(address).GarbleNext = true;

    /// <summary>Answers the next command with osdp_NAK <paramref name="code"/> instead of processing it.</summary>
    public void NakNextCommand(byte address, OsdpNakCode code) => Device(address).NakNext = code;

    /// <summary>Reads commands and answers them until cancelled (then returns).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                int read = await _transport.ReadAsync(_assembler.GetWriteMemory(), TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    // Inter-character timeout: a partial frame will never complete.
                    if (_assembler.Buffered > 0) Interlocked.Increment(ref _badFrames);
                    _assembler.Clear();
                    continue;
                }
                _assembler.Advance(read);
                while (true)
                {
                    int length = ProcessNext(out bool needMore);
                    if (needMore) break;
                    if (length > 0) await _transport.WriteAsync(_tx.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping is the normal end.
        }
        catch (ObjectDisposedException) when (cancellationToken.IsCancellationRequested || _transport.IsBroken)
        {
            // The bus was torn down under us.
        }
    }

    /// <summary>Disposes the transport if owned.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_ownsTransport) await _transport.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Handles the next buffered frame; returns the reply length in <see cref="_tx"/> (0 = nothing to send).</summary>
    private int ProcessNext(out bool needMore)
    {
        needMore = false;
        var parsed = _assembler.Next(out var frame);
        if (parsed.Status == OsdpParseStatus.Incomplete)
        {
            needMore = true;
            return 0;
        }
        if (parsed.Status == OsdpParseStatus.Invalid)
        {
            Interlocked.Increment(ref _badFrames);
            if (parsed.HeaderAddress < 0 || (parsed.HeaderAddress & 0x80) != 0) return 0;
            if (!_devices.TryGetValue((byte)parsed.HeaderAddress, out var target) || target.IsSilent) return 0;
            var nakCode = parsed.Error == OsdpFrameError.BadLength ? OsdpNakCode.CommandLength : OsdpNakCode.CheckCharacter;
            return Nak(target, (byte)(parsed.HeaderControl & 3), nakCode, remember: false);
        }
        if (frame.IsReply) return 0; // another PD's reply on the shared line
        OsdpSimulatedReader? device;
        if (frame.Address == OsdpFrame.BroadcastAddress) device = _devices.Values.FirstOrDefault();
        else _devices.TryGetValue(frame.Address, out device);
        if (device is null || device.IsSilent) return 0;

        long now = _time.GetTimestamp();
        device.RecordReceived(frame.Code, frame.Sequence);

        if (device.NakNext is { } forced)
        {
            device.NakNext = null;
            return Nak(device, frame.Sequence, forced, remember: true);
        }
        if (frame.Sequence != 0 && device.LastSequence == frame.Sequence && device.LastReply is { } last)
        {
            Interlocked.Increment(ref device.RepeatedRepliesCount);
            last.CopyTo(_tx, 0);
            return Send(device, last.Length);
        }
        if (frame.Sequence != 0 && device.LastSequence is { } previous && frame.Sequence != (previous >= 3 ? 1 : previous + 1))
            return Nak(device, frame.Sequence, OsdpNakCode.UnexpectedSequence, remember: false);
        if (frame.HasSecurityBlock) return Nak(device, frame.Sequence, OsdpNakCode.UnsupportedSecurityBlock, remember: true);

        byte code;
        int dataLength;
        var data = frame.Data;
        switch ((OsdpCommandCode)frame.Code)
        {
            case OsdpCommandCode.Poll:
                if (!data.IsEmpty) return Nak(device, frame.Sequence, OsdpNakCode.CommandLength, remember: true);
                Interlocked.Increment(ref device.PollCountValue);
                if (device.Events.TryDequeue(out var ev))
                {
                    code = ev.Code;
                    ev.Data.CopyTo(_payload, 0);
                    dataLength = ev.Data.Length;
                }
                else
                {
                    code = (byte)OsdpReplyCode.Ack;
                    dataLength = 0;
                }
                break;
            case OsdpCommandCode.Id:
                if (data.Length != 1) return Nak(device, frame.Sequence, OsdpNakCode.CommandLength, remember: true);
                code = (byte)OsdpReplyCode.PdId;
                dataLength = device.Identity.Write(_payload);
                break;
            case OsdpCommandCode.Capabilities:
                if (data.Length != 1) return Nak(device, frame.Sequence, OsdpNakCode.CommandLength, remember: true);
                code = (byte)OsdpReplyCode.PdCapabilities;
                dataLength = device.Capabilities.Write(_payload);
                break;
            case OsdpCommandCode.LocalStatus:
                if (!data.IsEmpty) return Nak(device, frame.Sequence, OsdpNakCode.CommandLength, remember: true);
                code = (byte)OsdpReplyCode.LocalStatus;
                dataLength = device.LocalStatus.Write(_payload);
                break;
            case OsdpCommandCode.Led:
                if (data.IsEmpty || data.Length % OsdpLedCommand.RecordLength != 0) return Nak(device, frame.Sequence, OsdpNakCode.CommandLength, remember: true);
                for (int i = 0; i < data.Length; i += OsdpLedCommand.RecordLength)
                {
                    OsdpLedCommand.TryParse(data[i..], out var led);
                    device.Record(device.LedList, led, now);
                }
                code = (byte)OsdpReplyCode.Ack;
                dataLength = 0;
                break;
            case OsdpCommandCode.Buzzer:
                if (data.IsEmpty || data.Length % OsdpBuzzerCommand.RecordLength != 0) return Nak(device, frame.Sequence, OsdpNakCode.CommandLength, remember: true);
                for (int i = 0; i < data.Length; i += OsdpBuzzerCommand.RecordLength)
                {
                    OsdpBuzzerCommand.TryParse(data[i..], out var buz);
                    device.Record(device.BuzzerList, buz, now);
                }
                code = (byte)OsdpReplyCode.Ack;
                dataLength = 0;
                break;
            case OsdpCommandCode.Output:
                if (data.IsEmpty || data.Length % OsdpOutputCommand.RecordLength != 0) return Nak(device, frame.Sequence, OsdpNakCode.CommandLength, remember: true);
                for (int i = 0; i < data.Length; i += OsdpOutputCommand.RecordLength)
                {
                    OsdpOutputCommand.TryParse(data[i..], out var output);
                    device.Record(device.OutputList, output, now);
                }
                code = (byte)OsdpReplyCode.Ack;
                dataLength = 0;
                break;
            default:
                return Nak(device, frame.Sequence, OsdpNakCode.UnknownCommand, remember: true);
        }
        int length = new OsdpFrame(device.Address, isReply: true, frame.Sequence, code, _payload.AsSpan(0, dataLength), frame.UseCrc).Write(_tx);
        device.Remember(frame.Sequence, _tx.AsSpan(0, length));
        return Send(device, length);
    }

    private int Nak(OsdpSimulatedReader device, byte sequence, OsdpNakCode code, bool remember)
    {
        _payload[0] = (byte)code;
        int length = new OsdpFrame(device.Address, isReply: true, sequence, (byte)OsdpReplyCode.Nak, _payload.AsSpan(0, 1)).Write(_tx);
        device.RecordNak(code);
        if (remember) device.Remember(sequence, _tx.AsSpan(0, length));
        return Send(device, length);
    }

    private int Send(OsdpSimulatedReader device, int length)
    {
        if (device.GarbleNext)
        {
            device.GarbleNext = false;
            _tx[length - 1] ^= 0xFF; // breaks the CRC; the remembered copy stays good for the CP's retry
        }
        return length;
    }
}

/// <summary>One reader hosted by <see cref="OsdpPeripheralSimulator"/>: its identity and what it was told to do.</summary>
public sealed class OsdpSimulatedReader
{
    private const int ReceivedLimit = 10_000;
    private readonly object _gate = new();
    private readonly List<(byte Code, byte Sequence)> _received = [];
    private readonly List<OsdpNakCode> _naks = [];
    internal readonly List<OsdpRecorded<OsdpLedCommand>> LedList = [];
    internal readonly List<OsdpRecorded<OsdpBuzzerCommand>> BuzzerList = [];
    internal readonly List<OsdpRecorded<OsdpOutputCommand>> OutputList = [];
    internal long PollCountValue;
    internal long RepeatedRepliesCount;

    internal OsdpSimulatedReader(byte address, OsdpPdId identity, OsdpPdCapabilities capabilities)
    {
        Address = address;
        Identity = identity;
        Capabilities = capabilities;
    }

    /// <summary>OSDP address.</summary>
    public byte Address { get; }
    /// <summary>What osdp_ID returns.</summary>
    public OsdpPdId Identity { get; set; }
    /// <summary>What osdp_CAP returns.</summary>
    public OsdpPdCapabilities Capabilities { get; set; }
    /// <summary>What osdp_LSTAT returns.</summary>
    public OsdpLocalStatus LocalStatus { get; set; }
    /// <summary>True while it does not answer (unplugged).</summary>
    public bool IsSilent { get; internal set; }
    /// <summary>POLLs answered.</summary>
    public long PollCount => Interlocked.Read(ref PollCountValue);
    /// <summary>Times the last reply was resent because the CP repeated the SQN.</summary>
    public long RepeatedReplies => Interlocked.Read(ref RepeatedRepliesCount);

    /// <summary>LED records received, in order.</summary>
    public IReadOnlyList<OsdpRecorded<OsdpLedCommand>> LedCommands { get { lock (_gate) return LedList.ToArray(); } }
    /// <summary>Buzzer records received, in order.</summary>
    public IReadOnlyList<OsdpRecorded<OsdpBuzzerCommand>> BuzzerCommands { get { lock (_gate) return BuzzerList.ToArray(); } }
    /// <summary>Output records received, in order.</summary>
    public IReadOnlyList<OsdpRecorded<OsdpOutputCommand>> OutputCommands { get { lock (_gate) return OutputList.ToArray(); } }
    /// <summary>NAKs sent, in order.</summary>
    public IReadOnlyList<OsdpNakCode> NaksSent { get { lock (_gate) return _naks.ToArray(); } }
    /// <summary>Valid commands addressed to this reader (code, SQN), in order (the last 10,000).</summary>
    public IReadOnlyList<(byte Code, byte Sequence)> ReceivedCommands { get { lock (_gate) return _received.ToArray(); } }

    /// <summary>The colour the LED shows now per the last LED record (temporary colour if one is set, else permanent).</summary>
    public OsdpLedColor? LastLedColor
    {
        get
        {
            lock (_gate)
            {
                if (LedList.Count == 0) return null;
                var last = LedList[^1].Command;
                return last.TemporaryControl == OsdpLedTemporaryControl.Set ? last.TemporaryOnColor : last.PermanentOnColor;
            }
        }
    }

    internal ConcurrentQueue<(byte Code, byte[] Data)> Events { get; } = new();
    internal bool GarbleNext { get; set; }
    internal OsdpNakCode? NakNext { get; set; }
    internal byte? LastSequence { get; private set; }
    internal byte[]? LastReply { get; private set; }

    internal void Remember(byte sequence, ReadOnlySpan<byte> reply)
    {
        LastSequence = sequence;
        LastReply = reply.ToArray();
    }

    internal void ForgetSequence()
    {
        LastSequence = null;
        LastReply = null;
    }

    internal void RecordReceived(byte code, byte sequence)
    {
        lock (_gate)
        {
            if (_received.Count >= ReceivedLimit) _received.RemoveRange(0, ReceivedLimit / 2);
            _received.Add((code, sequence));
        }
    }

    internal void RecordNak(OsdpNakCode code)
    {
        lock (_gate) _naks.Add(code);
    }

    internal void Record<T>(List<OsdpRecorded<T>> list, T command, long timestamp)
    {
        lock (_gate) list.Add(new OsdpRecorded<T>(command, timestamp));
    }
}
