using System.Buffers;
using System.Globalization;
using Kezekshi.Edge.Devices.Diagnostics;
using Kezekshi.Edge.Devices.Transport;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Protocols.ModbusRtu;

/// <summary>
/// Modbus RTU master (client) on one RS-485 bus: relay boards that drive turnstile arms and input modules
/// that report pass sensors and the fire alarm.
/// </summary>
/// <remarks>
/// <para>The bus is half-duplex and carries one request at a time. Callers queue for it by
/// <see cref="ModbusPriority"/>: an <see cref="ModbusPriority.Urgent"/> relay command waits at most for
/// the exchange already on the wire, never for the queue of input polls.</para>
/// <para>Timing (Serial Line v1.02 §2.5.1.1): before each request the bus is left silent for t3.5
/// (3.5 characters of 11 bits; a fixed 1.75 ms above 19200 baud). A reply is complete when it reaches
/// the length the request implies (5 bytes for an exception response); a silence of t3.5 ends a short
/// frame early, which is then counted as garbled. The first byte must arrive within the wire time of
/// request and reply plus the slave's reply time (<see cref="ModbusRtuMasterOptions"/>).</para>
/// <para>Failures: an exception response throws <see cref="ModbusException"/> at once (not transient);
/// silence and garbled replies are retried <see cref="ModbusRtuMasterOptions.Retries"/> times, garbled
/// ones counted by a <see cref="BadInputCounter"/>, then throw <see cref="ModbusNoReplyException"/> or
/// <see cref="ModbusBadReplyException"/> (transient) naming what IT should check. A broadcast (slave 0)
/// write expects no reply; the master waits the turnaround delay instead (§2.4.1).</para>
/// </remarks>
public sealed class ModbusRtuMaster : IAsyncDisposable
{
    private const int ReplyOffset = ModbusLimits.MaxFrameLength;
    private const int BitsPerCharacter = 11;
    private static readonly TimeSpan MinimumDelay = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan PreciseWaitWindow = TimeSpan.FromMilliseconds(2);

    private readonly IByteTransport _transport;
    private readonly bool _ownsTransport;
    private readonly ModbusRtuMasterOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly BusArbiter _bus = new();
    private readonly BadInputCounter _badReplies;
    private readonly TimeSpan _interFrameGap;
    private readonly TimeSpan _silence;
    private readonly bool[] _offline = new bool[256];
    private long _lastBusActivity;
    private bool _hasBusActivity;
    private int _disposed;

    /// <summary>Creates a master on <paramref name="transport"/>; disposes it too when <paramref name="ownsTransport"/>.</summary>
    public ModbusRtuMaster(IByteTransport transport, bool ownsTransport, ModbusRtuMasterOptions options, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        if (options.Retries < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Retries, "Retries must be 0 or more.");
        _transport = transport;
        _ownsTransport = ownsTransport;
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _badReplies = new BadInputCounter(logger, transport.Name, options.BadReplyLogInterval, _time);
        _interFrameGap = InterFrameGap(transport.BaudRate);
        _silence = _interFrameGap > options.MinimumFrameSilence ? _interFrameGap : options.MinimumFrameSilence;
    }

    /// <summary>Garbled replies (bad CRC, wrong length, wrong slave or echo) seen since start.</summary>
    public long BadReplyCount => _badReplies.Total;

    /// <summary>Requests that gave up after all retries without a valid reply.</summary>
    public long FailedRequestCount { get; private set; }

    internal BadInputCounter BadReplies => _badReplies;

    internal int QueuedRequests => _bus.Waiting;

    /// <summary>t3.5 for <paramref name="baudRate"/>: 3.5 × 11 bits / baud, fixed 1.75 ms above 19200 baud (Serial Line v1.02 §2.5.1.1).</summary>
    public static TimeSpan InterFrameGap(int baudRate) =>
        baudRate is <= 0 or > 19200
            ? TimeSpan.FromMicroseconds(1750)
            : TimeSpan.FromTicks((long)(3.5 * BitsPerCharacter * TimeSpan.TicksPerSecond / baudRate));

    /// <summary>Reads <paramref name="count"/> coils (function 01).</summary>
    public async Task<bool[]> ReadCoilsAsync(byte slave, ushort start, ushort count, ModbusPriority priority = ModbusPriority.Normal, CancellationToken cancellationToken = default)
    {
        var result = new bool[count];
        await ReadBitsAsync(ModbusFunction.ReadCoils, slave, start, result, priority, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Reads coils (function 01) into <paramref name="destination"/> (its length is the quantity): no allocation per poll.</summary>
    public Task ReadCoilsAsync(byte slave, ushort start, Memory<bool> destination, ModbusPriority priority = ModbusPriority.Normal, CancellationToken cancellationToken = default) =>
        ReadBitsAsync(ModbusFunction.ReadCoils, slave, start, destination, priority, cancellationToken);

    /// <summary>Reads <paramref name="count"/> discrete inputs (function 02).</summary>
    public async Task<bool[]> ReadDiscreteInputsAsync(byte slave, ushort start, ushort count, ModbusPriority priority = ModbusPriority.Normal, CancellationToken cancellationToken = default)
    {
        var result = new bool[count];
        await ReadBitsAsync(ModbusFunction.ReadDiscreteInputs, slave, start, result, priority, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Reads discrete inputs (function 02) into <paramref name="destination"/>: no allocation per poll.</summary>
    public Task ReadDiscreteInputsAsync(byte slave, ushort start, Memory<bool> destination, ModbusPriority priority = ModbusPriority.Normal, CancellationToken cancellationToken = default) =>
        ReadBitsAsync(ModbusFunction.ReadDiscreteInputs, slave, start, destination, priority, cancellationToken);

    /// <summary>Reads <paramref name="count"/> holding registers (function 03).</summary>
    public async Task<ushort[]> ReadHoldingRegistersAsync(byte slave, ushort start, ushort count, ModbusPriority priority = ModbusPriority.Normal, CancellationToken cancellationToken = default)
    {
        var result = new ushort[count];
        await ReadRegistersAsync(ModbusFunction.ReadHoldingRegisters, slave, start, result, priority, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Reads holding registers (function 03) into <paramref name="destination"/>.</summary>
    public Task ReadHoldingRegistersAsync(byte slave, ushort start, Memory<ushort> destination, ModbusPriority priority = ModbusPriority.Normal, CancellationToken cancellationToken = default) =>
        ReadRegistersAsync(ModbusFunction.ReadHoldingRegisters, slave, start, destination, priority, cancellationToken);

    /// <summary>Reads <paramref name="count"/> input registers (function 04).</summary>
    public async Task<ushort[]> ReadInputRegistersAsync(byte slave, ushort start, ushort count, ModbusPriority priority = ModbusPriority.Normal, CancellationToken cancellationToken = default)
    {
        var result = new ushort[count];
        await ReadRegistersAsync(ModbusFunction.ReadInputRegisters, slave, start, result, priority, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Reads input registers (function 04) into <paramref name="destination"/>.</summary>
    public Task ReadInputRegistersAsync(byte slave, ushort start, Memory<ushort> destination, ModbusPriority priority = ModbusPriority.Normal, CancellationToken cancellationToken = default) =>
        ReadRegistersAsync(ModbusFunction.ReadInputRegisters, slave, start, destination, priority, cancellationToken);

    /// <summary>Switches one coil (function 05). Relay commands that open a turnstile should pass <see cref="ModbusPriority.Urgent"/>.</summary>
    public async Task WriteSingleCoilAsync(byte slave, ushort address, bool on, ModbusPriority priority = ModbusPriority.Normal, CancellationToken cancellationToken = default)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(2 * ModbusLimits.MaxFrameLength);
        try
        {
            int length = ModbusRequest.WriteSingleCoil(slave, address, on).WriteTo(buffer);
            await TransactAsync(buffer, length, priority, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes one holding register (function 06).</summary>
    public async Task WriteSingleRegisterAsync(byte slave, ushort address, ushort value, ModbusPriority priority = ModbusPriority.Normal, CancellationToken cancellationToken = default)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(2 * ModbusLimits.MaxFrameLength);
        try
        {
            int length = ModbusRequest.WriteSingleRegister(slave, address, value).WriteTo(buffer);
            await TransactAsync(buffer, length, priority, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes consecutive coils (function 15); at most 1968.</summary>
    public async Task WriteMultipleCoilsAsync(byte slave, ushort start, ReadOnlyMemory<bool> values, ModbusPriority priority = ModbusPriority.Normal, CancellationToken cancellationToken = default)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(2 * ModbusLimits.MaxFrameLength);
        try
        {
            int length = BuildWriteCoils(buffer, slave, start, values.Span);
            await TransactAsync(buffer, length, priority, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes consecutive holding registers (function 16); at most 123.</summary>
    public async Task WriteMultipleRegistersAsync(byte slave, ushort start, ReadOnlyMemory<ushort> values, ModbusPriority priority = ModbusPriority.Normal, CancellationToken cancellationToken = default)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(2 * ModbusLimits.MaxFrameLength);
        try
        {
            int length = BuildWriteRegisters(buffer, slave, start, values.Span);
            await TransactAsync(buffer, length, priority, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Disposes the transport if this master owns it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_ownsTransport) await _transport.DisposeAsync().ConfigureAwait(false);
    }

    private async Task ReadBitsAsync(ModbusFunction function, byte slave, ushort start, Memory<bool> destination, ModbusPriority priority, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(2 * ModbusLimits.MaxFrameLength);
        try
        {
            ushort count = QuantityOf(destination.Length);
            int length = (function == ModbusFunction.ReadCoils
                ? ModbusRequest.ReadCoils(slave, start, count)
                : ModbusRequest.ReadDiscreteInputs(slave, start, count)).WriteTo(buffer);
            int replyLength = await TransactAsync(buffer, length, priority, cancellationToken).ConfigureAwait(false);
            CopyReply(buffer, length, replyLength, destination.Span, default);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task ReadRegistersAsync(ModbusFunction function, byte slave, ushort start, Memory<ushort> destination, ModbusPriority priority, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(2 * ModbusLimits.MaxFrameLength);
        try
        {
            ushort count = QuantityOf(destination.Length);
            int length = (function == ModbusFunction.ReadHoldingRegisters
                ? ModbusRequest.ReadHoldingRegisters(slave, start, count)
                : ModbusRequest.ReadInputRegisters(slave, start, count)).WriteTo(buffer);
            int replyLength = await TransactAsync(buffer, length, priority, cancellationToken).ConfigureAwait(false);
            CopyReply(buffer, length, replyLength, default, destination.Span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ushort QuantityOf(int length) => (ushort)Math.Min(length, ushort.MaxValue);

    private static int BuildWriteCoils(byte[] buffer, byte slave, ushort start, ReadOnlySpan<bool> values)
    {
        if (values.Length is < 1 or > ModbusLimits.MaxWriteCoils)
        {
            throw new ArgumentOutOfRangeException(nameof(values), values.Length,
                $"Write Multiple Coils (15): quantity {values.Length} is outside 1–{ModbusLimits.MaxWriteCoils} (Modbus Application Protocol v1.1b3 §6.11).");
        }
        Span<byte> packed = stackalloc byte[(ModbusLimits.MaxWriteCoils + 7) / 8];
        int bytes = ModbusData.PackCoils(values, packed);
        return ModbusRequest.WriteMultipleCoils(slave, start, (ushort)values.Length, packed[..bytes]).WriteTo(buffer);
    }

    private static int BuildWriteRegisters(byte[] buffer, byte slave, ushort start, ReadOnlySpan<ushort> values)
    {
        if (values.Length is < 1 or > ModbusLimits.MaxWriteRegisters)
        {
            throw new ArgumentOutOfRangeException(nameof(values), values.Length,
                $"Write Multiple Registers (16): quantity {values.Length} is outside 1–{ModbusLimits.MaxWriteRegisters} (Modbus Application Protocol v1.1b3 §6.12).");
        }
        Span<byte> data = stackalloc byte[2 * ModbusLimits.MaxWriteRegisters];
        int bytes = ModbusData.WriteRegisters(values, data);
        return ModbusRequest.WriteMultipleRegisters(slave, start, data[..bytes]).WriteTo(buffer);
    }

    private static void CopyReply(byte[] buffer, int requestLength, int replyLength, Span<bool> bits, Span<ushort> registers)
    {
        ModbusRequest.TryParse(buffer.AsSpan(0, requestLength), out var request, out _);
        if (!ModbusResponse.TryParse(buffer.AsSpan(ReplyOffset, replyLength), request, out var response, out var error))
        {
            // TransactAsync returned this reply only after it parsed; failing here is a bug in this class.
            throw new InvalidOperationException("Accepted reply no longer parses: " + error);
        }
        if (!bits.IsEmpty) response.CopyBitsTo(bits);
        if (!registers.IsEmpty) response.CopyRegistersTo(registers);
    }

    /// <summary>
    /// Sends the request in buffer[0..requestLength) and leaves a valid reply at buffer[ReplyOffset..);
    /// returns the reply length (0 for a broadcast).
    /// </summary>
    private async Task<int> TransactAsync(byte[] buffer, int requestLength, ModbusPriority priority, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        byte slave = buffer[0];
        int expected = ExpectedReplyLength(buffer.AsSpan(0, requestLength));
        TimeSpan timeout = WireTime.For(requestLength + expected, _transport.BaudRate, BitsPerCharacter) + _options.ReplyTimeFor(slave);

        using var lease = await _bus.AcquireAsync(priority, cancellationToken).ConfigureAwait(false);
        bool lastWasSilence = true;
        for (int attempt = 1; ; attempt++)
        {
            await WaitForInterFrameGapAsync(cancellationToken).ConfigureAwait(false);
            _transport.DiscardInput();
            await _transport.WriteAsync(buffer.AsMemory(0, requestLength), cancellationToken).ConfigureAwait(false);
            MarkBusActivity();
            if (slave == ModbusLimits.BroadcastAddress)
            {
                await Task.Delay(_options.BroadcastTurnaround, _time, cancellationToken).ConfigureAwait(false);
                MarkBusActivity();
                return 0;
            }

            int received = await ReceiveAsync(buffer, expected, timeout, cancellationToken).ConfigureAwait(false);
            MarkBusActivity();
            string reason;
            if (received == 0)
            {
                lastWasSilence = true;
                reason = "no reply";
            }
            else if (AcceptReply(buffer.AsSpan(0, requestLength), buffer.AsSpan(ReplyOffset, received), out var exceptionCode, out var error))
            {
                MarkOnline(slave);
                if (exceptionCode is { } code)
                {
                    var exception = ExceptionFor(buffer.AsSpan(0, requestLength), code);
                    DeviceLog.ModbusExceptionResponse(_logger, _transport.Name, exception.Message);
                    throw exception;
                }
                return received;
            }
            else
            {
                lastWasSilence = false;
                reason = error!;
            }

            if (attempt > _options.Retries)
            {
                FailedRequestCount++;
                throw lastWasSilence ? NoReply(slave, timeout, attempt) : BadReply(slave, attempt, reason);
            }
            DeviceLog.ModbusRetry(_logger, _transport.Name, slave, attempt, ModbusRequest.Describe((ModbusFunction)buffer[1]), reason);
        }
    }

    /// <summary>
    /// Checks one received reply against its request: a frame that fails is counted as garbled (rate-limited
    /// log). Returns true for a valid reply, with <paramref name="exceptionCode"/> set for an exception response.
    /// </summary>
    internal bool AcceptReply(ReadOnlySpan<byte> requestFrame, ReadOnlySpan<byte> replyFrame, out ModbusExceptionCode? exceptionCode, out string? error)
    {
        exceptionCode = null;
        if (!ModbusRequest.TryParse(requestFrame, out var request, out error))
        {
            throw new ArgumentException("Request frame does not parse: " + error, nameof(requestFrame));
        }
        if (!ModbusResponse.TryParse(replyFrame, request, out var response, out error))
        {
            _badReplies.Record(string.Create(CultureInfo.InvariantCulture, $"slave {request.Slave}: {error}"));
            return false;
        }
        exceptionCode = response.ExceptionCode;
        return true;
    }

    private static int ExpectedReplyLength(ReadOnlySpan<byte> requestFrame)
    {
        ModbusRequest.TryParse(requestFrame, out var request, out _);
        return request.ExpectedResponseLength;
    }

    private static ModbusException ExceptionFor(ReadOnlySpan<byte> requestFrame, ModbusExceptionCode code)
    {
        ModbusRequest.TryParse(requestFrame, out var request, out _);
        return new ModbusException(request.Slave, request.Function, request.Address, request.Quantity, code);
    }

    private async Task<int> ReceiveAsync(byte[] buffer, int expected, TimeSpan firstByteTimeout, CancellationToken cancellationToken)
    {
        int received = 0;
        int needed = expected;
        TimeSpan wait = firstByteTimeout;
        while (received < needed)
        {
            int n = await _transport.ReadAsync(buffer.AsMemory(ReplyOffset + received, needed - received), wait, cancellationToken).ConfigureAwait(false);
            if (n == 0) break; // no first byte within the reply timeout, or t3.5 of silence ended a short frame
            received += n;
            needed = ModbusResponse.GetFrameLength(buffer.AsSpan(ReplyOffset, received), expected);
            wait = _silence;
        }
        return Math.Min(received, needed);
    }

    private async Task WaitForInterFrameGapAsync(CancellationToken cancellationToken)
    {
        if (!_hasBusActivity) return;
        // t3.5 is 1.75–4 ms: shorter than the timer's reliable resolution (a 1.75 ms Task.Delay often takes 2–3 ms).
        // Sleep on a timer for all but the last 2 ms, then yield-spin to the exact moment, so a relay command
        // waits exactly the silence the spec requires and no longer. A shorter gap lets slaves read two frames as one.
        TimeSpan idle;
        var spin = default(SpinWait);
        while ((idle = _time.GetElapsedTime(_lastBusActivity)) < _interFrameGap)
        {
            var remaining = _interFrameGap - idle;
            if (remaining > PreciseWaitWindow)
            {
                await Task.Delay(remaining - PreciseWaitWindow, _time, cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (!ReferenceEquals(_time, TimeProvider.System))
            {
                // A test clock only moves when the test moves it: wait on its timers.
                await Task.Delay(remaining < MinimumDelay ? MinimumDelay : remaining, _time, cancellationToken).ConfigureAwait(false);
                continue;
            }
            cancellationToken.ThrowIfCancellationRequested();
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    private void MarkBusActivity()
    {
        _lastBusActivity = _time.GetTimestamp();
        _hasBusActivity = true;
    }

    private void MarkOnline(byte slave)
    {
        if (!_offline[slave]) return;
        _offline[slave] = false;
        DeviceLog.DeviceOnline(_logger, _transport.Name, slave);
    }

    private ModbusNoReplyException NoReply(byte slave, TimeSpan timeout, int attempts)
    {
        string message = string.Create(CultureInfo.InvariantCulture,
            $"{_options.DescriptionFor(slave)} at address {slave} on {_transport.Name} did not answer within {timeout.TotalMilliseconds:0.#} ms ({attempts} attempt(s)): check power, A/B wires, address DIP switches, baud rate ({_transport.BaudRate}).");
        if (!_offline[slave])
        {
            _offline[slave] = true;
            DeviceLog.ModbusNoReply(_logger, message);
        }
        return new ModbusNoReplyException(slave, message);
    }

    private ModbusBadReplyException BadReply(byte slave, int attempts, string reason)
    {
        string message = string.Create(CultureInfo.InvariantCulture,
            $"{_options.DescriptionFor(slave)} at address {slave} on {_transport.Name} answered only with garbled frames ({attempts} attempt(s), latest: {reason}): check baud rate and parity ({_transport.BaudRate}), the termination resistor, A/B wires, and that no two devices share address {slave}.");
        if (!_offline[slave])
        {
            _offline[slave] = true;
            DeviceLog.ModbusBadReplies(_logger, message);
        }
        return new ModbusBadReplyException(slave, message);
    }
}
