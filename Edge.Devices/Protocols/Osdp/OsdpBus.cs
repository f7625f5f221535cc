using System.Collections.Concurrent;
using System.Threading.Channels;
using Kezekshi.Edge.Devices.Cards;
using Kezekshi.Edge.Devices.Diagnostics;
using Kezekshi.Edge.Devices.Transport;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Protocols.Osdp;

/// <summary>
/// The control-panel (CP) side of one OSDP RS-485 bus with one or more readers (PDs): polls them round-robin,
/// delivers card reads and keypad entries, sends LED/buzzer/output commands, and tracks which readers are online.
/// </summary>
/// <remarks>
/// OSDP v2.2 §5: the bus is half-duplex, so exactly one command is outstanding at a time. Sequence numbers per PD
/// run 0, 1, 2, 3, 1, …; a missing or garbled reply is retried with the same SQN so the PD can resend its last reply
/// instead of acting twice (§5.6). A reader that stops answering is marked offline and probed with backoff so it
/// does not slow the others; when it answers again the sequence restarts at 0 and ID/CAP are asked again.
/// Every frame passes through an <see cref="IOsdpSecureChannel"/> (plain for now).
/// </remarks>
public sealed class OsdpBus : IAsyncDisposable
{
    private const int MinReplyLength = 8;

    private readonly IByteTransport _transport;
    private readonly bool _ownsTransport;
    private readonly OsdpBusOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IOsdpSecureChannel _secureChannel;
    private readonly BadInputCounter _badInput;
    private readonly OsdpFrameAssembler _assembler = new();
    private readonly byte[] _tx = new byte[OsdpFrame.MaxLength];
    private readonly byte[] _scratch = new byte[OsdpFrame.MaxLength];
    private readonly Channel<CardRead> _cardReads;
    private readonly Channel<KeypadEntry> _keypadEntries;
    private readonly object _readersGate = new();
    private ReaderState[] _readers = [];
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _rejectedCardReads;
    private int _running;

    /// <summary>Creates the bus session.</summary>
    /// <param name="transport">The RS-485 line.</param>
    /// <param name="ownsTransport">Dispose the transport with the bus.</param>
    /// <param name="options">Timing and retry settings.</param>
    /// <param name="logger">Where offline/online, NAKs and malformed frames are logged.</param>
    /// <param name="time">Clock for timeouts, backoff and card-read timestamps; <see cref="TimeProvider.System"/> if null.</param>
    public OsdpBus(IByteTransport transport, bool ownsTransport, OsdpBusOptions options, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _transport = transport;
        _ownsTransport = ownsTransport;
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _secureChannel = options.SecureChannel ?? OsdpPlainChannel.Instance;
        _badInput = new BadInputCounter(logger, transport.Name, options.BadInputLogInterval, _time);
        var channelOptions = new BoundedChannelOptions(Math.Max(1, options.EventCapacity))
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleWriter = true,
        };
        _cardReads = Channel.CreateBounded<CardRead>(channelOptions);
        _keypadEntries = Channel.CreateBounded<KeypadEntry>(channelOptions);
    }

    /// <summary>Cards presented to any reader on the bus, in arrival order.</summary>
    /// <remarks>Bounded by <see cref="OsdpBusOptions.EventCapacity"/>; when nobody reads, the oldest reads are dropped (they are stale by then) rather than stalling the polling loop.</remarks>
    public ChannelReader<CardRead> CardReads => _cardReads.Reader;

    /// <summary>Keys typed on any reader on the bus.</summary>
    public ChannelReader<KeypadEntry> KeypadEntries => _keypadEntries.Reader;

    /// <summary>Raised when a reader goes online or offline.</summary>
    /// <remarks>Handlers run on the polling loop: keep them short and do not throw (an exception ends <see cref="RunAsync"/>).</remarks>
    public event EventHandler<OsdpReaderStatus>? ReaderStatusChanged;

    /// <summary>Malformed frames, unexpected replies and rejected card reads seen so far.</summary>
    public long BadInputCount => _badInput.Total;

    /// <summary>Card reads dropped because of a parity error or an unsupported length.</summary>
    public long RejectedCardReads => Interlocked.Read(ref _rejectedCardReads);

    internal BadInputCounter BadInput => _badInput;

    /// <summary>Adds a reader at <paramref name="address"/> (0–126); it is polled from the next cycle.</summary>
    public void AddReader(byte address, string readerId)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(address, (byte)0x7E);
        ArgumentException.ThrowIfNullOrEmpty(readerId);
        lock (_readersGate)
        {
            if (_readers.Any(r => r.Address == address)) throw new ArgumentException($"Address {address} is already on the bus.", nameof(address));
            _readers = [.. _readers, new ReaderState(address, readerId, $"{_transport.Name}/{readerId}")];
        }
        Signal();
    }

    /// <summary>Status of the reader at <paramref name="address"/>.</summary>
    public OsdpReaderStatus GetStatus(byte address) => Find(address).Snapshot();

    /// <summary>Status of every reader.</summary>
    public IReadOnlyList<OsdpReaderStatus> Readers => Volatile.Read(ref _readers).Select(r => r.Snapshot()).ToArray();

    /// <summary>Sends an osdp_LED record; completes when the PD ACKs.</summary>
    /// <remarks>Commands are queued and sent by <see cref="RunAsync"/> before the reader's next poll; while the loop is not running they wait (use the token).</remarks>
    /// <exception cref="DeviceException">The reader is offline, did not answer, or NAKed (<see cref="OsdpNakException"/>).</exception>
    public ValueTask SendLedAsync(byte address, OsdpLedCommand command, CancellationToken cancellationToken = default)
    {
        var data = new byte[OsdpLedCommand.RecordLength];
        command.Write(data);
        return new ValueTask(Enqueue(address, OsdpCommandCode.Led, data, OsdpReplyCode.Ack, cancellationToken));
    }

    /// <summary>Sends an osdp_BUZ command; completes when the PD ACKs.</summary>
    public ValueTask SendBuzzerAsync(byte address, OsdpBuzzerCommand command, CancellationToken cancellationToken = default)
    {
        var data = new byte[OsdpBuzzerCommand.RecordLength];
        command.Write(data);
        return new ValueTask(Enqueue(address, OsdpCommandCode.Buzzer, data, OsdpReplyCode.Ack, cancellationToken));
    }

    /// <summary>Sends an osdp_OUT record (relay); completes when the PD ACKs.</summary>
    public ValueTask SendOutputAsync(byte address, OsdpOutputCommand command, CancellationToken cancellationToken = default)
    {
        var data = new byte[OsdpOutputCommand.RecordLength];
        command.Write(data);
        return new ValueTask(Enqueue(address, OsdpCommandCode.Output, data, OsdpReplyCode.Ack, cancellationToken));
    }

    /// <summary>Asks the PD for its identity (osdp_ID → osdp_PDID).</summary>
    public async Task<OsdpPdId> GetIdAsync(byte address, CancellationToken cancellationToken = default) =>
        (OsdpPdId)(await Enqueue(address, OsdpCommandCode.Id, [0], OsdpReplyCode.PdId, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Asks the PD for its capabilities (osdp_CAP → osdp_PDCAP).</summary>
    public async Task<OsdpPdCapabilities> GetCapabilitiesAsync(byte address, CancellationToken cancellationToken = default) =>
        (OsdpPdCapabilities)(await Enqueue(address, OsdpCommandCode.Capabilities, [0], OsdpReplyCode.PdCapabilities, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Asks the PD for tamper and power status (osdp_LSTAT → osdp_LSTATR).</summary>
    public async Task<OsdpLocalStatus> GetLocalStatusAsync(byte address, CancellationToken cancellationToken = default) =>
        (OsdpLocalStatus)(await Enqueue(address, OsdpCommandCode.LocalStatus, [], OsdpReplyCode.LocalStatus, cancellationToken).ConfigureAwait(false))!;

    /// <summary>
    /// Polls the readers until <paramref name="cancellationToken"/> is cancelled (then returns). A transport failure
    /// ends the loop with <see cref="TransportException"/>; reopen the port and call again.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _running, 1) == 1) throw new InvalidOperationException("The OSDP bus is already running.");
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                long cycleStart = _time.GetTimestamp();
                bool exchanged = false;
                foreach (var reader in Volatile.Read(ref _readers))
                {
                    exchanged |= await ServeReaderAsync(reader, cancellationToken).ConfigureAwait(false);
                }
                TimeSpan wait = _options.PollInterval - _time.GetElapsedTime(cycleStart);
                if (!exchanged) wait = TimeSpan.FromTicks(Math.Max(wait.Ticks, UntilNextProbe().Ticks));
                if (wait > TimeSpan.Zero && !AnyQueued()) await WaitForWorkAsync(wait, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping is the normal end of the loop.
        }
        finally
        {
            foreach (var reader in Volatile.Read(ref _readers)) FailQueued(reader, new DeviceException("OSDP bus stopped.", isTransient: true));
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>Disposes the transport if the bus owns it and completes the event channels.</summary>
    public async ValueTask DisposeAsync()
    {
        _cardReads.Writer.TryComplete();
        _keypadEntries.Writer.TryComplete();
        if (_ownsTransport) await _transport.DisposeAsync().ConfigureAwait(false);
    }

    private Task<object?> Enqueue(byte address, OsdpCommandCode code, byte[] data, OsdpReplyCode expected, CancellationToken cancellationToken)
    {
        var reader = Find(address);
        if (reader.State == LinkState.Offline)
            return Task.FromException<object?>(new DeviceException($"OSDP reader {reader.Name} (address {address}) is offline.", isTransient: true));
        var command = new PendingCommand((byte)code, data, expected);
        if (cancellationToken.CanBeCanceled)
            command.Registration = cancellationToken.Register(static c => ((PendingCommand)c!).Completion.TrySetCanceled(), command);
        reader.Queue.Enqueue(command);
        Signal();
        return command.Completion.Task;
    }

    private ReaderState Find(byte address)
    {
        foreach (var r in Volatile.Read(ref _readers))
        {
            if (r.Address == address) return r;
        }
        throw new ArgumentException($"No OSDP reader at address {address} on {_transport.Name}.", nameof(address));
    }

    private async ValueTask<bool> ServeReaderAsync(ReaderState reader, CancellationToken cancellationToken)
    {
        long now = _time.GetTimestamp();
        if (reader.State == LinkState.Offline)
        {
            FailQueued(reader, new DeviceException($"OSDP reader {reader.Name} (address {reader.Address}) is offline.", isTransient: true));
            if (now < reader.NextProbe) return false;
            // A probe is a single POLL with SQN 0 (a restart for the PD), no retries, so a dead reader costs one timeout per interval.
            reader.Sequence = 0;
            var probe = await ExchangeAsync(reader, (byte)OsdpCommandCode.Poll, ReadOnlyMemory<byte>.Empty, null, 1, cancellationToken).ConfigureAwait(false);
            if (probe == Outcome.NoReply)
            {
                reader.ProbeInterval = TimeSpan.FromTicks(Math.Min(reader.ProbeInterval.Ticks * 2, _options.OfflineProbeMaxInterval.Ticks));
                reader.NextProbe = _time.GetTimestamp() + ToTimestamp(reader.ProbeInterval);
            }
            return true;
        }

        PendingCommand? command = null;
        while (reader.Queue.TryDequeue(out var queued))
        {
            if (!queued.Completion.Task.IsCompleted) { command = queued; break; }
        }
        byte code;
        ReadOnlyMemory<byte> data;
        if (command is not null) { code = command.Code; data = command.Data; }
        else if (reader.NeedsId) { code = (byte)OsdpCommandCode.Id; data = ReaderState.ReplyTypeZero; }
        else if (reader.NeedsCapabilities) { code = (byte)OsdpCommandCode.Capabilities; data = ReaderState.ReplyTypeZero; }
        else { code = (byte)OsdpCommandCode.Poll; data = ReadOnlyMemory<byte>.Empty; }

        var outcome = await ExchangeAsync(reader, code, data, command, 1 + Math.Max(0, _options.Retries), cancellationToken).ConfigureAwait(false);
        if (outcome == Outcome.NoReply)
        {
            command?.Fail(new DeviceException($"OSDP reader {reader.Name} (address {reader.Address}) did not answer command 0x{code:X2}.", isTransient: true));
            reader.ConsecutiveFailures++;
            if (reader.ConsecutiveFailures >= Math.Max(1, _options.OfflineAfterFailures)) MarkOffline(reader);
        }
        else if (outcome == Outcome.AnsweredWithoutResult)
        {
            command?.Fail(new DeviceException($"OSDP reader {reader.Name} (address {reader.Address}) kept refusing command 0x{code:X2} (busy or garbled).", isTransient: true));
        }
        return true;
    }

    private async ValueTask<Outcome> ExchangeAsync(ReaderState reader, byte code, ReadOnlyMemory<byte> data, PendingCommand? command, int attempts, CancellationToken cancellationToken)
    {
        bool answered = false;
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            byte sequence = reader.Sequence;
            int length = WriteCommand(reader.Address, sequence, code, data.Span);
            _transport.DiscardInput();
            _assembler.Clear();
            await _transport.WriteAsync(_tx.AsMemory(0, length), cancellationToken).ConfigureAwait(false);

            long deadline = _time.GetTimestamp() + ToTimestamp(WireTime.ReplyTimeout(length, MinReplyLength, _transport.BaudRate, _options.DeviceReplyTime));
            var result = Attempt.NeedMore;
            while (true)
            {
                long remaining = deadline - _time.GetTimestamp();
                if (remaining <= 0) break;
                int read = await _transport.ReadAsync(_assembler.GetWriteMemory(), FromTimestamp(remaining), cancellationToken).ConfigureAwait(false);
                if (read == 0) break;
                long receivedAt = _time.GetTimestamp();
                _assembler.Advance(read);
                result = ProcessBuffered(reader, sequence, command, receivedAt);
                if (result != Attempt.NeedMore) break;
                long stillNeeded = receivedAt + ToTimestamp(WireTime.For(_assembler.MissingBytes, _transport.BaudRate) + _options.InterCharacterAllowance);
                if (stillNeeded > deadline) deadline = stillNeeded;
            }

            if (result == Attempt.NeedMore && _assembler.Buffered > 0) _badInput.Record(OsdpFrame.Describe(OsdpFrameError.Truncated));
            if (result is Attempt.Completed or Attempt.Retry) answered = true;
            if (result == Attempt.Completed)
            {
                reader.Sequence = NextSequence(sequence);
                return Outcome.Completed;
            }
        }
        return answered ? Outcome.AnsweredWithoutResult : Outcome.NoReply;
    }

    private int WriteCommand(byte address, byte sequence, byte code, ReadOnlySpan<byte> data)
    {
        var frame = new OsdpFrame(address, isReply: false, sequence, code, data, _options.UseCrc);
        return _secureChannel.WriteCommand(frame, _tx);
    }

    /// <summary>Cuts what has arrived into frames and handles the first valid reply from <paramref name="reader"/>.</summary>
    private Attempt ProcessBuffered(ReaderState reader, byte sequence, PendingCommand? command, long receivedAt)
    {
        while (true)
        {
            var parsed = _assembler.Next(out var frame);
            if (parsed.Status == OsdpParseStatus.Incomplete) return Attempt.NeedMore;
            if (parsed.Status == OsdpParseStatus.Invalid)
            {
                _badInput.Record(parsed.Reason);
                continue;
            }
            if (!frame.IsReply) continue; // our own command echoed by a 2-wire adapter
            if (frame.Address != reader.Address)
            {
                _badInput.Record("reply from an address that was not asked");
                continue;
            }
            if (!_secureChannel.TryUnwrapReply(frame, _scratch, out var plain))
            {
                _badInput.Record("reply with a security block outside Secure Channel");
                continue;
            }
            if (plain.Sequence != sequence)
            {
                _badInput.Record("reply sequence number does not match the command");
                continue;
            }
            return HandleReply(reader, plain, command, receivedAt);
        }
    }

    private Attempt HandleReply(ReaderState reader, in OsdpFrame reply, PendingCommand? command, long receivedAt)
    {
        MarkAnswered(reader);
        var data = reply.Data;
        switch ((OsdpReplyCode)reply.Code)
        {
            case OsdpReplyCode.Ack:
                Complete(command, reply.Code, null);
                return Attempt.Completed;

            case OsdpReplyCode.Nak:
                if (!OsdpNak.TryParse(data, out var nak))
                {
                    _badInput.Record("osdp_NAK without an error code");
                    return Attempt.Retry;
                }
                if (nak.ErrorCode == OsdpNakCode.CheckCharacter) return Attempt.Retry; // our command was garbled on the way: resend
                if (nak.ErrorCode == OsdpNakCode.UnexpectedSequence)
                {
                    DeviceLog.OsdpSequenceReset(_logger, reader.Name, reader.Address);
                    reader.Sequence = 0;
                    _secureChannel.Reset(reader.Address);
                    return Attempt.Retry;
                }
                byte refused = command?.Code ?? (reader.NeedsId ? (byte)OsdpCommandCode.Id : reader.NeedsCapabilities ? (byte)OsdpCommandCode.Capabilities : (byte)OsdpCommandCode.Poll);
                DeviceLog.OsdpNak(_logger, reader.Name, reader.Address, refused, (int)nak.ErrorCode, OsdpNakCodeText.Describe(nak.ErrorCode));
                if (command is null) { reader.NeedsId = false; reader.NeedsCapabilities = reader.NeedsCapabilities && refused != (byte)OsdpCommandCode.Capabilities; }
                command?.Fail(new OsdpNakException(reader.Address, refused, nak.ErrorCode));
                return Attempt.Completed;

            case OsdpReplyCode.Busy:
                return Attempt.Retry;

            case OsdpReplyCode.PdId:
                if (!OsdpPdId.TryParse(data, out var id)) { _badInput.Record("osdp_PDID too short"); break; }
                if (reader.NeedsId || reader.Identity != id)
                    DeviceLog.OsdpIdentified(_logger, reader.Name, reader.Address, id!.VendorCode, id.ModelNumber, id.Version, id.SerialNumber, id.FirmwareMajor, id.FirmwareMinor, id.FirmwareBuild);
                reader.Identity = id;
                reader.NeedsId = false;
                Complete(command, reply.Code, id);
                return Attempt.Completed;

            case OsdpReplyCode.PdCapabilities:
                if (!OsdpPdCapabilities.TryParse(data, out var caps)) { _badInput.Record("osdp_PDCAP not a list of triplets"); break; }
                reader.Capabilities = caps;
                reader.NeedsCapabilities = false;
                Complete(command, reply.Code, caps);
                return Attempt.Completed;

            case OsdpReplyCode.LocalStatus:
                if (!OsdpLocalStatus.TryParse(data, out var status)) { _badInput.Record("osdp_LSTATR malformed"); break; }
                Complete(command, reply.Code, status);
                return Attempt.Completed;

            case OsdpReplyCode.RawCardData:
                DeliverRaw(reader, data, receivedAt);
                break;

            case OsdpReplyCode.FormattedCardData:
                DeliverFormatted(reader, data, receivedAt);
                break;

            case OsdpReplyCode.Keypad:
                if (OsdpKeypadData.TryParse(data, out var keypad) && keypad.TryGetText(out var digits))
                    _keypadEntries.Writer.TryWrite(new KeypadEntry(reader.ReaderId, digits, receivedAt));
                else
                    _badInput.Record("osdp_KEYPAD malformed");
                break;

            default:
                _badInput.Record("unsupported reply code");
                break;
        }
        // The PD answered (its SQN advanced), even if the reply was not what the command asked for.
        Complete(command, reply.Code, null);
        return Attempt.Completed;
    }

    private void DeliverRaw(ReaderState reader, ReadOnlySpan<byte> data, long receivedAt)
    {
        if (!OsdpRawCardData.TryParse(data, out var raw))
        {
            _badInput.Record("osdp_RAW length does not match its bit count");
            return;
        }
        if (!Wiegand.TryPackBits(raw.Bits, raw.BitCount, out ulong bits))
        {
            Interlocked.Increment(ref _rejectedCardReads);
            _badInput.Record("card read longer than 64 bits");
            return;
        }
        if (!Wiegand.TryCanonicalFromBits(bits, raw.BitCount, out ulong number))
        {
            Interlocked.Increment(ref _rejectedCardReads);
            _badInput.Record("Wiegand parity error in card read");
            return;
        }
        _cardReads.Writer.TryWrite(new CardRead(reader.ReaderId, number, raw.BitCount, receivedAt));
    }

    private void DeliverFormatted(ReaderState reader, ReadOnlySpan<byte> data, long receivedAt)
    {
        if (!OsdpFormattedCardData.TryParse(data, out var fmt) || fmt.Characters.IsEmpty || fmt.Characters.Length > 19)
        {
            _badInput.Record("osdp_FMT malformed");
            return;
        }
        ulong number = 0;
        foreach (byte c in fmt.Characters)
        {
            if (c is < (byte)'0' or > (byte)'9')
            {
                Interlocked.Increment(ref _rejectedCardReads);
                _badInput.Record("osdp_FMT card number is not all digits");
                return;
            }
            number = number * 10 + (ulong)(c - '0');
        }
        _cardReads.Writer.TryWrite(new CardRead(reader.ReaderId, number, 0, receivedAt));
    }

    private static void Complete(PendingCommand? command, byte replyCode, object? result)
    {
        if (command is null) return;
        if (replyCode == (byte)command.Expected) command.Succeed(result);
        else command.Fail(new DeviceException($"OSDP reply 0x{replyCode:X2} does not answer command 0x{command.Code:X2}.", isTransient: true));
    }

    private void MarkAnswered(ReaderState reader)
    {
        reader.ConsecutiveFailures = 0;
        reader.LastSeen = _time.GetUtcNow();
        if (reader.State == LinkState.Online) return;
        reader.NeedsId = true;
        reader.NeedsCapabilities = true;
        // Log before the state changes: whoever sees the new state can rely on the log line being written.
        DeviceLog.DeviceOnline(_logger, reader.Name, reader.Address);
        reader.State = LinkState.Online;
        ReaderStatusChanged?.Invoke(this, reader.Snapshot());
    }

    private void MarkOffline(ReaderState reader)
    {
        // Log before the state changes: whoever sees the reader offline can rely on the log line being written.
        DeviceLog.DeviceOffline(_logger, reader.Name, reader.Address);
        reader.State = LinkState.Offline;
        reader.Sequence = 0;
        reader.ProbeInterval = _options.OfflineProbeInitialInterval;
        reader.NextProbe = _time.GetTimestamp() + ToTimestamp(reader.ProbeInterval);
        _secureChannel.Reset(reader.Address);
        FailQueued(reader, new DeviceException($"OSDP reader {reader.Name} (address {reader.Address}) is offline.", isTransient: true));
        ReaderStatusChanged?.Invoke(this, reader.Snapshot());
    }

    private static void FailQueued(ReaderState reader, Exception error)
    {
        while (reader.Queue.TryDequeue(out var command)) command.Fail(error);
    }

    private bool AnyQueued()
    {
        foreach (var r in Volatile.Read(ref _readers))
        {
            if (!r.Queue.IsEmpty && r.State != LinkState.Offline) return true;
        }
        return false;
    }

    private TimeSpan UntilNextProbe()
    {
        long now = _time.GetTimestamp();
        long earliest = long.MaxValue;
        foreach (var r in Volatile.Read(ref _readers))
        {
            if (r.State != LinkState.Offline) return TimeSpan.Zero;
            earliest = Math.Min(earliest, r.NextProbe);
        }
        if (earliest == long.MaxValue) return _options.OfflineProbeInitialInterval; // no readers yet: idle until one is added
        return earliest <= now ? TimeSpan.Zero : FromTimestamp(earliest - now);
    }

    private void Signal() => Volatile.Read(ref _wake).TrySetResult();

    private async Task WaitForWorkAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        var wake = Volatile.Read(ref _wake);
        if (!wake.Task.IsCompleted)
        {
            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(wait, _time, delayCancel.Token);
            await Task.WhenAny(wake.Task, delay).ConfigureAwait(false);
            await delayCancel.CancelAsync().ConfigureAwait(false);
        }
        if (wake.Task.IsCompleted)
            Interlocked.CompareExchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), wake);
    }

    private long ToTimestamp(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private TimeSpan FromTimestamp(long ticks) => TimeSpan.FromSeconds((double)ticks / _time.TimestampFrequency);

    private static byte NextSequence(byte sequence) => sequence >= 3 ? (byte)1 : (byte)(sequence + 1);

    /// <summary>
    /// Runs <paramref name="bytes"/> through the same reply path as a live exchange (assembler, checks, dispatch to the
    /// channels) as if they were the reply window of a command with SQN <paramref name="sequence"/>. For bad-input tests.
    /// </summary>
    internal void ProcessReplyWindow(byte address, byte sequence, ReadOnlySpan<byte> bytes)
    {
        var reader = Find(address);
        _assembler.Clear();
        long receivedAt = _time.GetTimestamp();
        var result = Attempt.NeedMore;
        while (!bytes.IsEmpty && result == Attempt.NeedMore)
        {
            int taken = _assembler.Append(bytes);
            bytes = bytes[taken..];
            result = ProcessBuffered(reader, sequence, null, receivedAt);
        }
        if (result == Attempt.NeedMore && _assembler.Buffered > 0) _badInput.Record(OsdpFrame.Describe(OsdpFrameError.Truncated));
        _assembler.Clear();
    }

    private enum LinkState
    {
        Connecting,
        Online,
        Offline,
    }

    private enum Attempt
    {
        NeedMore,
        Completed,
        Retry,
    }

    private enum Outcome
    {
        Completed,
        AnsweredWithoutResult,
        NoReply,
    }

    private sealed class ReaderState(byte address, string readerId, string name)
    {
        public static readonly ReadOnlyMemory<byte> ReplyTypeZero = new byte[] { 0 };

        public byte Address { get; } = address;
        public string ReaderId { get; } = readerId;
        public string Name { get; } = name;
        public ConcurrentQueue<PendingCommand> Queue { get; } = new();
        public volatile LinkState State = LinkState.Connecting;
        public byte Sequence;
        public int ConsecutiveFailures;
        public DateTimeOffset? LastSeen;
        public long NextProbe;
        public TimeSpan ProbeInterval;
        public bool NeedsId = true;
        public bool NeedsCapabilities = true;
        public OsdpPdId? Identity;
        public OsdpPdCapabilities? Capabilities;

        public OsdpReaderStatus Snapshot() =>
            new(Address, ReaderId, State == LinkState.Online, LastSeen, ConsecutiveFailures, Identity, Capabilities);
    }

    private sealed class PendingCommand(byte code, byte[] data, OsdpReplyCode expected)
    {
        public byte Code { get; } = code;
        public byte[] Data { get; } = data;
        public OsdpReplyCode Expected { get; } = expected;
        public TaskCompletionSource<object?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Registration { get; set; }

        public void Succeed(object? result)
        {
            Completion.TrySetResult(result);
            Registration.Dispose();
        }

        public void Fail(Exception error)
        {
            Completion.TrySetException(error);
            Registration.Dispose();
        }
    }
}
