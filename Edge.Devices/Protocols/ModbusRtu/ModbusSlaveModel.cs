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

    /// <summary>Sets a discrete input: a pass sensor interrupted, the fire alarm contact closed.</summary>
    public void SetDiscreteInput(int index, bool value) { lock (Gate) _discreteInputs[index] = value; }

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
