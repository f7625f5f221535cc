namespace Kezekshi.Edge.Devices.Protocols.ModbusRtu;

/// <summary>
/// The data of one simulated slave (a relay board or input module): coils, discrete inputs, holding
/// and input registers, each a 0-based table of configurable size. Thread-safe.
/// </summary>
public sealed class ModbusSlaveModel
{
    private readonly bool[] _coils;
    private readonly bool[] _discreteInputs;
    private readonly ushort[] _holdingRegisters;
    private readonly ushort[] _inputRegisters;
    private volatile bool _silent;
    private ModbusInputCounters? _counters;

    /// <summary>Creates a slave at <paramref name="address"/> (1–247) with tables of the given sizes.</summary>
    public ModbusSlaveModel(byte address, int coils = 16, int discreteInputs = 16, int holdingRegisters = 16, int inputRegisters = 16)
    {
        if (address is 0 or > ModbusLimits.MaxSlaveAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(address), address, "A slave address is 1–247 (Serial Line v1.02 §2.2).");
        }
        Address = address;
        _coils = new bool[CheckSize(coils, nameof(coils))];
        _discreteInputs = new bool[CheckSize(discreteInputs, nameof(discreteInputs))];
        _holdingRegisters = new ushort[CheckSize(holdingRegisters, nameof(holdingRegisters))];
        _inputRegisters = new ushort[CheckSize(inputRegisters, nameof(inputRegisters))];
    }

    /// <summary>The slave address.</summary>
    public byte Address { get; }

    /// <summary>When true the slave hears nothing and answers nothing, like an unplugged or unpowered board.</summary>
    public bool Silent { get => _silent; set => _silent = value; }

    /// <summary>When set, every request is answered with this exception (e.g. ServerDeviceFailure) instead of executing.</summary>
    public ModbusExceptionCode? ForcedException { get; set; }

    /// <summary>Number of coils.</summary>
    public int CoilCount => _coils.Length;

    /// <summary>Number of discrete inputs.</summary>
    public int DiscreteInputCount => _discreteInputs.Length;

    /// <summary>Number of holding registers.</summary>
    public int HoldingRegisterCount => _holdingRegisters.Length;

    /// <summary>Number of input registers.</summary>
    public int InputRegisterCount => _inputRegisters.Length;

    internal object Gate { get; } = new();

    internal bool[] Coils => _coils;

    internal bool[] DiscreteInputs => _discreteInputs;

    internal ushort[] HoldingRegisters => _holdingRegisters;

    internal ushort[] InputRegisters => _inputRegisters;

    /// <summary>State of coil <paramref name="index"/>.</summary>
    public bool GetCoil(int index) { lock (Gate) return _coils[index]; }

    /// <summary>Sets a coil directly (test setup; not recorded as a change from the bus).</summary>
    public void SetCoil(int index, bool value) { lock (Gate) _coils[index] = value; }

    /// <summary>State of discrete input <paramref name="index"/>.</summary>
    public bool GetDiscreteInput(int index) { lock (Gate) return _discreteInputs[index]; }

    /// <summary>Sets a discrete input: a pass sensor interrupted, the fire alarm contact closed. With counters, a rising edge counts.</summary>
    public void SetDiscreteInput(int index, bool value)
    {
        lock (Gate)
        {
            if (value && !_discreteInputs[index]) Count(index);
            _discreteInputs[index] = value;
        }
    }

    /// <summary>
    /// A pulse on input <paramref name="index"/> too short for any poll to see as a level (it starts and ends between two
    /// reads): a module with counters counts it, the level never shows it. The way a 5 ms sensor pulse looks to a master
    /// that polls every 20 ms, or to one whose poll loop was held up.
    /// </summary>
    public void PulseDiscreteInput(int index)
    {
        lock (Gate)
        {
            if (!_discreteInputs[index]) Count(index);
        }
    }

    /// <summary>
    /// Makes the module count rising edges of every discrete input in registers, as DI modules with a counter mode do:
    /// input n's counter is at <paramref name="firstRegister"/> + n × <paramref name="registersPerCounter"/> of
    /// <paramref name="table"/>; 16-bit counters wrap at 65536, 32-bit ones (two registers) at 2^32.
    /// </summary>
    public void CountRisingEdges(ModbusRegisterTable table, int firstRegister, int registersPerCounter = 1, bool lowWordFirst = true)
    {
        if (registersPerCounter is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(registersPerCounter), registersPerCounter, "A counter is 1 (16-bit) or 2 (32-bit) registers.");
        int size = table == ModbusRegisterTable.InputRegisters ? _inputRegisters.Length : _holdingRegisters.Length;
        if (firstRegister < 0 || firstRegister + _discreteInputs.Length * registersPerCounter > size)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRegister), firstRegister,
                $"The counters of {_discreteInputs.Length} inputs need {_discreteInputs.Length * registersPerCounter} registers from {firstRegister}; the table has {size}.");
        }
        lock (Gate) _counters = new ModbusInputCounters(table, firstRegister, registersPerCounter, lowWordFirst);
    }

    /// <summary>The counter of input <paramref name="index"/> (0 without counters).</summary>
    public uint GetInputCounter(int index)
    {
        lock (Gate)
        {
            if (_counters is not { } c) return 0;
            var table = c.Table == ModbusRegisterTable.InputRegisters ? _inputRegisters : _holdingRegisters;
            int at = c.FirstRegister + index * c.RegistersPerCounter;
            if (c.RegistersPerCounter == 1) return table[at];
            return c.LowWordFirst ? (uint)(table[at] | table[at + 1] << 16) : (uint)(table[at + 1] | table[at] << 16);
        }
    }

    // Called under Gate.
    private void Count(int index)
    {
        if (_counters is not { } c) return;
        var table = c.Table == ModbusRegisterTable.InputRegisters ? _inputRegisters : _holdingRegisters;
        int at = c.FirstRegister + index * c.RegistersPerCounter;
        if (c.RegistersPerCounter == 1)
        {
            table[at] = unchecked((ushort)(table[at] + 1));
            return;
        }
        int low = c.LowWordFirst ? at : at + 1, high = c.LowWordFirst ? at + 1 : at;
        uint value = unchecked((uint)(table[low] | table[high] << 16) + 1);
        table[low] = (ushort)value;
        table[high] = (ushort)(value >> 16);
    }

    /// <summary>Value of holding register <paramref name="index"/>.</summary>
    public ushort GetHoldingRegister(int index) { lock (Gate) return _holdingRegisters[index]; }

    /// <summary>Sets a holding register directly.</summary>
    public void SetHoldingRegister(int index, ushort value) { lock (Gate) _holdingRegisters[index] = value; }

    /// <summary>Value of input register <paramref name="index"/>.</summary>
    public ushort GetInputRegister(int index) { lock (Gate) return _inputRegisters[index]; }

    /// <summary>Sets an input register (a measured value).</summary>
    public void SetInputRegister(int index, ushort value) { lock (Gate) _inputRegisters[index] = value; }

    private static int CheckSize(int size, string name) =>
        size is >= 0 and <= 0x10000 ? size : throw new ArgumentOutOfRangeException(name, size, "A table holds 0–65536 items.");
}

/// <summary>The register table a simulated module keeps its input counters in.</summary>
public enum ModbusRegisterTable
{
    /// <summary>Input registers (function 04).</summary>
    InputRegisters,

    /// <summary>Holding registers (function 03).</summary>
    HoldingRegisters,
}

internal sealed record ModbusInputCounters(ModbusRegisterTable Table, int FirstRegister, int RegistersPerCounter, bool LowWordFirst);

/// <summary>A coil that changed because of a write on the bus.</summary>
/// <param name="Slave">The slave whose coil changed.</param>
/// <param name="Coil">The coil address.</param>
/// <param name="Value">The new state (true = relay energised).</param>
/// <param name="Timestamp"><see cref="TimeProvider.GetTimestamp"/> when the request frame that changed it was complete.</param>
public readonly record struct ModbusCoilChange(byte Slave, int Coil, bool Value, long Timestamp);

/// <summary>A request a simulated slave received and executed (or refused with an exception).</summary>
/// <param name="Slave">Addressed slave (0 for broadcast).</param>
/// <param name="Function">Function code.</param>
/// <param name="Address">Start address.</param>
/// <param name="Quantity">Quantity (1 for single writes).</param>
/// <param name="Timestamp"><see cref="TimeProvider.GetTimestamp"/> when the frame was complete.</param>
public readonly record struct ModbusRequestRecord(byte Slave, ModbusFunction Function, ushort Address, ushort Quantity, long Timestamp);

/// <summary>Event data for <see cref="ModbusSlaveSimulator.CoilChanged"/>.</summary>
public sealed class ModbusCoilChangedEventArgs(ModbusCoilChange change) : EventArgs
{
    /// <summary>The change.</summary>
    public ModbusCoilChange Change { get; } = change;
}
