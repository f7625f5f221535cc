using Kezekshi.Edge.Devices.Diagnostics;
using Kezekshi.Edge.Devices.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Devices.Protocols.ModbusRtu;

/// <summary>
/// Simulates the slaves on an RS-485 bus (several addresses on one transport) with the production codec,
/// for tests and benchmarks of the master and of the gate logic above it.
/// </summary>
/// <remarks>
/// Behaves as real slaves do (Application Protocol v1.1b3 §7, Serial Line v1.02 §2.4): frames with a bad
/// CRC and frames for other addresses are ignored silently; an unknown function gets exception 01, a
/// bad quantity 03, an address outside the tables 02; broadcast writes are executed by every slave and
/// answered by none. Frames end at the length their function implies, or at a t3.5 silence. Every coil
/// change is recorded with the timestamp of the moment its request frame was complete, so tests can
/// measure card-to-relay latency and relay pulse lengths.
/// </remarks>
public sealed class ModbusSlaveSimulator : IAsyncDisposable
{
    private static readonly TimeSpan IdleWait = TimeSpan.FromSeconds(1);

    private readonly IByteTransport _transport;
    private readonly bool _ownsTransport;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _silence;
    private readonly Dictionary<byte, ModbusSlaveModel> _slaves = [];
    private readonly object _recordGate = new();
    private readonly List<ModbusCoilChange> _coilChanges = [];
    private readonly List<ModbusRequestRecord> _requests = [];
    private long _ignoredFrames;

    /// <summary>Creates a simulator answering on <paramref name="transport"/>.</summary>
    public ModbusSlaveSimulator(IByteTransport transport, bool ownsTransport, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _transport = transport;
        _ownsTransport = ownsTransport;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _silence = ModbusRtuMaster.InterFrameGap(transport.BaudRate);
    }

    /// <summary>Raised (on the simulator's loop) for every coil a bus write changed.</summary>
    public event EventHandler<ModbusCoilChangedEventArgs>? CoilChanged;

    /// <summary>Delay before each reply, to simulate a slave's processing time.</summary>
    public TimeSpan ReplyDelay { get; set; }

    /// <summary>Frames ignored because of a bad CRC, a bad length or garbage on the line.</summary>
    public long IgnoredFrames => Interlocked.Read(ref _ignoredFrames);

    /// <summary>Every coil change so far, in order.</summary>
    public IReadOnlyList<ModbusCoilChange> CoilChanges { get { lock (_recordGate) return [.. _coilChanges]; } }

    /// <summary>Every request a (non-silent) simulated slave received, in order.</summary>
    public IReadOnlyList<ModbusRequestRecord> Requests { get { lock (_recordGate) return [.. _requests]; } }

    /// <summary>The slave at <paramref name="address"/>.</summary>
    public ModbusSlaveModel this[byte address] { get { lock (_slaves) return _slaves[address]; } }

    /// <summary>Adds a slave with tables of the given sizes.</summary>
    public ModbusSlaveModel AddSlave(byte address, int coils = 16, int discreteInputs = 16, int holdingRegisters = 16, int inputRegisters = 16) =>
        AddSlave(new ModbusSlaveModel(address, coils, discreteInputs, holdingRegisters, inputRegisters));

    /// <summary>Adds a slave model.</summary>
    public ModbusSlaveModel AddSlave(ModbusSlaveModel slave)
    {
        ArgumentNullException.ThrowIfNull(slave);
        lock (_slaves) _slaves.Add(slave.Address, slave);
        return slave;
    }

    /// <summary>Sets a discrete input of a slave: a pass sensor or the fire alarm contact.</summary>
    public void SetDiscreteInput(byte slave, int index, bool value) => this[slave].SetDiscreteInput(index, value);

    /// <summary>A pulse on an input too short for any poll to see as a level (see <see cref="ModbusSlaveModel.PulseDiscreteInput"/>).</summary>
    public void PulseDiscreteInput(byte slave, int index) => this[slave].PulseDiscreteInput(index);

    /// <summary>Answers requests until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[4 * ModbusLimits.MaxFrameLength];
        var reply = new byte[ModbusLimits.MaxFrameLength];
        int count = 0;
        bool discarding = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await _transport.ReadAsync(buffer.AsMemory(count), count > 0 || discarding ? _silence : IdleWait, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            long now = _time.GetTimestamp();
            if (n == 0)
            {
                // t3.5 of silence: whatever was collected is a frame (Serial Line v1.02 §2.5.1.1).
                if (count > 0 && !discarding) await HandleAsync(buffer, 0, count, reply, now, cancellationToken).ConfigureAwait(false);
                count = 0;
                discarding = false;
                continue;
            }
            if (discarding)
            {
                continue; // garbage: drop everything until the line goes silent
            }
            count += n;
            int start = 0;
            while (count - start > 0)
            {
                int length = ModbusRequest.GetFrameLength(buffer.AsSpan(start, count - start));
                if (length <= 0) break; // need more bytes, or unknown function: wait for the silence
                if (length > ModbusLimits.MaxFrameLength)
                {
                    Ignore("declared length exceeds 256 bytes");
                    discarding = true;
                    start = count;
                    break;
                }
                if (count - start < length) break;
                await HandleAsync(buffer, start, length, reply, now, cancellationToken).ConfigureAwait(false);
                start += length;
            }
            if (start > 0)
            {
                buffer.AsSpan(start, count - start).CopyTo(buffer);
                count -= start;
            }
            if (count == buffer.Length)
            {
                Ignore("buffer full of garbage");
                count = 0;
                discarding = true;
            }
        }
    }

    /// <summary>Disposes the transport if this simulator owns it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_ownsTransport) await _transport.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandleAsync(byte[] buffer, int start, int length, byte[] reply, long timestamp, CancellationToken cancellationToken)
    {
        int replyLength = Execute(buffer.AsSpan(start, length), reply, timestamp);
        if (replyLength == 0) return;
        if (ReplyDelay > TimeSpan.Zero) await Task.Delay(ReplyDelay, _time, cancellationToken).ConfigureAwait(false);
        await _transport.WriteAsync(reply.AsMemory(0, replyLength), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Executes one complete frame; returns the reply length (0: no reply).</summary>
    private int Execute(ReadOnlySpan<byte> frame, Span<byte> reply, long timestamp)
    {
        if (!ModbusRequest.TryParse(frame, out var request, out var error))
        {
            Ignore(error!);
            return 0;
        }
        if (request.IsBroadcast)
        {
            ModbusSlaveModel[] all;
            lock (_slaves) all = [.. _slaves.Values];
            foreach (var slave in all)
            {
                if (slave.Silent) continue;
                Record(request, timestamp);
                Execute(request, slave, reply, timestamp);
            }
            return 0;
        }
        ModbusSlaveModel? target;
        lock (_slaves) _slaves.TryGetValue(request.Slave, out target);
        if (target is null || target.Silent) return 0;
        Record(request, timestamp);
        return Execute(request, target, reply, timestamp);
    }

    private void Record(in ModbusRequest request, long timestamp)
    {
        lock (_recordGate) _requests.Add(new ModbusRequestRecord(request.Slave, request.Function, request.Address, request.Quantity, timestamp));
    }

    private int Execute(in ModbusRequest request, ModbusSlaveModel slave, Span<byte> reply, long timestamp)
    {
        byte address = request.Slave;
        byte function = request.FunctionCode;
        if (!request.IsKnownFunction) return ModbusResponse.WriteException(reply, address, function, ModbusExceptionCode.IllegalFunction);
        if (slave.ForcedException is { } forced) return ModbusResponse.WriteException(reply, address, function, forced);
        if (!request.HasValidQuantity(out _)) return ModbusResponse.WriteException(reply, address, function, ModbusExceptionCode.IllegalDataValue);

        int start = request.Address;
        int quantity = request.Quantity;
        List<ModbusCoilChange>? changes = null;
        int length;
        lock (slave.Gate)
        {
            switch (request.Function)
            {
                case ModbusFunction.ReadCoils:
                    length = InRange(start, quantity, slave.Coils.Length)
                        ? ModbusResponse.WriteBits(reply, address, request.Function, slave.Coils.AsSpan(start, quantity))
                        : IllegalAddress(reply, address, function);
                    break;
                case ModbusFunction.ReadDiscreteInputs:
                    length = InRange(start, quantity, slave.DiscreteInputs.Length)
                        ? ModbusResponse.WriteBits(reply, address, request.Function, slave.DiscreteInputs.AsSpan(start, quantity))
                        : IllegalAddress(reply, address, function);
                    break;
                case ModbusFunction.ReadHoldingRegisters:
                    length = InRange(start, quantity, slave.HoldingRegisters.Length)
                        ? ModbusResponse.WriteRegisters(reply, address, request.Function, slave.HoldingRegisters.AsSpan(start, quantity))
                        : IllegalAddress(reply, address, function);
                    break;
                case ModbusFunction.ReadInputRegisters:
                    length = InRange(start, quantity, slave.InputRegisters.Length)
                        ? ModbusResponse.WriteRegisters(reply, address, request.Function, slave.InputRegisters.AsSpan(start, quantity))
                        : IllegalAddress(reply, address, function);
                    break;
                case ModbusFunction.WriteSingleCoil:
                    if (!InRange(start, 1, slave.Coils.Length))
                    {
                        length = IllegalAddress(reply, address, function);
                        break;
                    }
                    SetCoil(slave, start, request.Value == 0xFF00, timestamp, ref changes);
                    length = ModbusResponse.WriteEcho(reply, address, request.Function, request.Address, request.Value);
                    break;
                case ModbusFunction.WriteSingleRegister:
                    if (!InRange(start, 1, slave.HoldingRegisters.Length))
                    {
                        length = IllegalAddress(reply, address, function);
                        break;
                    }
                    slave.HoldingRegisters[start] = request.Value;
                    length = ModbusResponse.WriteEcho(reply, address, request.Function, request.Address, request.Value);
                    break;
                case ModbusFunction.WriteMultipleCoils:
                    if (!InRange(start, quantity, slave.Coils.Length))
                    {
                        length = IllegalAddress(reply, address, function);
                        break;
                    }
                    for (int i = 0; i < quantity; i++)
                    {
                        SetCoil(slave, start + i, (request.Data[i >> 3] & (1 << (i & 7))) != 0, timestamp, ref changes);
                    }
                    length = ModbusResponse.WriteEcho(reply, address, request.Function, request.Address, request.Quantity);
                    break;
                case ModbusFunction.WriteMultipleRegisters:
                    if (!InRange(start, quantity, slave.HoldingRegisters.Length))
                    {
                        length = IllegalAddress(reply, address, function);
                        break;
                    }
                    ModbusData.ReadRegisters(request.Data, slave.HoldingRegisters.AsSpan(start, quantity));
                    length = ModbusResponse.WriteEcho(reply, address, request.Function, request.Address, request.Quantity);
                    break;
                default:
                    length = ModbusResponse.WriteException(reply, address, function, ModbusExceptionCode.IllegalFunction);
                    break;
            }
        }
        if (changes is not null)
        {
            lock (_recordGate) _coilChanges.AddRange(changes);
            foreach (var change in changes) CoilChanged?.Invoke(this, new ModbusCoilChangedEventArgs(change));
        }
        return request.IsBroadcast ? 0 : length;
    }

    private static bool InRange(int start, int quantity, int size) => start + quantity <= size;

    private static int IllegalAddress(Span<byte> reply, byte address, byte function) =>
        ModbusResponse.WriteException(reply, address, function, ModbusExceptionCode.IllegalDataAddress);

    private static void SetCoil(ModbusSlaveModel slave, int index, bool value, long timestamp, ref List<ModbusCoilChange>? changes)
    {
        if (slave.Coils[index] == value) return;
        slave.Coils[index] = value;
        (changes ??= []).Add(new ModbusCoilChange(slave.Address, index, value, timestamp));
    }

    private void Ignore(string reason)
    {
        Interlocked.Increment(ref _ignoredFrames);
        DeviceLog.ModbusSimulatorIgnored(_logger, _transport.Name, reason);
    }
}
