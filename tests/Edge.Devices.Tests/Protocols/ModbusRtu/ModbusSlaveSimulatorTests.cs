using Kezekshi.Edge.Devices.Protocols.ModbusRtu;
using Kezekshi.Edge.Devices.Tests.TestSupport;
using Kezekshi.Edge.Devices.Transport;

namespace Kezekshi.Edge.Devices.Tests.Protocols.ModbusRtu;

/// <summary>Raw frames against the simulator: it must behave as a real slave does (Application Protocol v1.1b3 §7).</summary>
[Category("Unit")]
public sealed class ModbusSlaveSimulatorTests
{
    private static readonly TimeSpan ReplyWait = TimeSpan.FromMilliseconds(300);

    private static async Task<string> ExchangeAsync(LoopbackTransport master, string requestHex, TimeSpan? wait = null)
    {
        await master.WriteAsync(Hex.Parse(requestHex), CancellationToken.None);
        var buffer = new byte[ModbusLimits.MaxFrameLength];
        int n = await master.ReadAsync(buffer, wait ?? ReplyWait, CancellationToken.None);
        return Hex.Format(buffer.AsSpan(0, n));
    }

    private static string WithCrc(string hex)
    {
        var body = Hex.Parse(hex);
        var frame = new byte[body.Length + 2];
        body.CopyTo(frame, 0);
        ModbusCrc.Append(frame, body.Length);
        return Hex.Format(frame);
    }

    private static async Task WithSimulatorAsync(Func<LoopbackTransport, ModbusSlaveSimulator, Task> test)
    {
        var (master, slaves) = LoopbackTransport.CreatePair(19200);
        await using var simulator = new ModbusSlaveSimulator(slaves, ownsTransport: true);
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => simulator.RunAsync(stop.Token));
        try
        {
            await test(master, simulator);
        }
        finally
        {
            await stop.CancelAsync();
            await loop;
            await master.DisposeAsync();
        }
    }

    [Test]
    public Task An_unknown_function_is_answered_with_exception_01() => WithSimulatorAsync(async (master, sim) =>
    {
        sim.AddSlave(0x11);
        // Function 07 (Read Exception Status) is not implemented: the frame ends at the t3.5 silence.
        Assert.That(await ExchangeAsync(master, WithCrc("11 07")), Is.EqualTo("11 87 01 83 F5"));
    });

    [Test]
    public Task A_quantity_of_zero_is_answered_with_exception_03() => WithSimulatorAsync(async (master, sim) =>
    {
        sim.AddSlave(0x11);
        Assert.That(await ExchangeAsync(master, WithCrc("11 03 00 00 00 00")), Is.EqualTo(WithCrc("11 83 03")));
    });

    [Test]
    public Task A_coil_value_other_than_FF00_or_0000_is_answered_with_exception_03() => WithSimulatorAsync(async (master, sim) =>
    {
        sim.AddSlave(0x11);
        Assert.That(await ExchangeAsync(master, WithCrc("11 05 00 00 12 34")), Is.EqualTo(WithCrc("11 85 03")));
    });

    [Test]
    public Task Reading_past_the_end_of_a_table_is_answered_with_exception_02() => WithSimulatorAsync(async (master, sim) =>
    {
        sim.AddSlave(0x11, coils: 16);
        Assert.That(await ExchangeAsync(master, WithCrc("11 01 00 0F 00 02")), Is.EqualTo(WithCrc("11 81 02")));
        Assert.That(await ExchangeAsync(master, WithCrc("11 01 00 0F 00 01")), Does.StartWith("11 01 01"));
    });

    [Test]
    public Task Frames_with_a_bad_crc_are_ignored_silently_and_counted() => WithSimulatorAsync(async (master, sim) =>
    {
        sim.AddSlave(0x11);
        Assert.That(await ExchangeAsync(master, "11 03 00 6B 00 03 76 88", TimeSpan.FromMilliseconds(50)), Is.Empty);
        Assert.That(sim.IgnoredFrames, Is.EqualTo(1));
        Assert.That(sim.Requests, Is.Empty);
    });

    [Test]
    public Task Frames_for_other_addresses_are_ignored() => WithSimulatorAsync(async (master, sim) =>
    {
        sim.AddSlave(0x11);
        Assert.That(await ExchangeAsync(master, WithCrc("12 01 00 00 00 01"), TimeSpan.FromMilliseconds(50)), Is.Empty);
        Assert.That(sim.IgnoredFrames, Is.Zero, "a valid frame for someone else is not garbage");
    });

    [Test]
    public Task Two_requests_in_one_burst_are_split_by_their_lengths_and_both_answered() => WithSimulatorAsync(async (master, sim) =>
    {
        sim.AddSlave(1).SetHoldingRegister(0, 7);
        sim.AddSlave(2).SetHoldingRegister(0, 8);
        var burst = Hex.Parse(WithCrc("01 03 00 00 00 01") + " " + WithCrc("02 03 00 00 00 01"));
        await master.WriteAsync(burst, CancellationToken.None);
        var buffer = new byte[64];
        int total = 0;
        while (total < 14)
        {
            int n = await master.ReadAsync(buffer.AsMemory(total), ReplyWait, CancellationToken.None);
            if (n == 0) break;
            total += n;
        }
        Assert.That(Hex.Format(buffer.AsSpan(0, total)), Is.EqualTo(WithCrc("01 03 02 00 07") + " " + WithCrc("02 03 02 00 08")));
    });

    [Test]
    public Task Set_discrete_input_is_what_the_next_poll_reads() => WithSimulatorAsync(async (master, sim) =>
    {
        sim.AddSlave(3, discreteInputs: 8);
        sim.SetDiscreteInput(3, 7, true); // fire alarm contact on input 7
        Assert.That(await ExchangeAsync(master, WithCrc("03 02 00 00 00 08")), Is.EqualTo(WithCrc("03 02 01 80")));
    });

    [Test]
    public Task Input_counters_count_rising_edges_and_pulses_too_short_for_the_level_and_wrap_at_16_bits() => WithSimulatorAsync(async (master, sim) =>
    {
        var module = sim.AddSlave(3, discreteInputs: 8, inputRegisters: 8);
        module.CountRisingEdges(ModbusRegisterTable.InputRegisters, firstRegister: 0);
        module.SetDiscreteInput(1, true);
        module.SetDiscreteInput(1, true); // still on: not a new edge
        module.SetDiscreteInput(1, false);
        sim.PulseDiscreteInput(3, 1);
        module.SetInputRegister(2, 0xFFFF);
        sim.PulseDiscreteInput(3, 2);

        Assert.That(module.GetDiscreteInput(1), Is.False, "a short pulse never shows as a level");
        // Function 04, registers 0-2: input 1 never pulsed, input 2 counted two edges, input 3 wrapped to 0.
        Assert.That(await ExchangeAsync(master, WithCrc("03 04 00 00 00 03")), Is.EqualTo(WithCrc("03 04 06 00 00 00 02 00 00")));
    });

    [Test]
    public void Thirty_two_bit_counters_carry_into_the_high_word_in_either_word_order()
    {
        var lowFirst = new ModbusSlaveModel(1, discreteInputs: 2, holdingRegisters: 8);
        lowFirst.CountRisingEdges(ModbusRegisterTable.HoldingRegisters, firstRegister: 4, registersPerCounter: 2, lowWordFirst: true);
        lowFirst.SetHoldingRegister(6, 0xFFFF); // input 2's low word
        lowFirst.PulseDiscreteInput(1);

        var highFirst = new ModbusSlaveModel(1, discreteInputs: 2, holdingRegisters: 8);
        highFirst.CountRisingEdges(ModbusRegisterTable.HoldingRegisters, firstRegister: 4, registersPerCounter: 2, lowWordFirst: false);
        highFirst.SetHoldingRegister(7, 0xFFFF); // input 2's low word
        highFirst.PulseDiscreteInput(1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((lowFirst.GetHoldingRegister(6), lowFirst.GetHoldingRegister(7), lowFirst.GetInputCounter(1)), Is.EqualTo(((ushort)0, (ushort)1, 0x10000u)));
            Assert.That((highFirst.GetHoldingRegister(6), highFirst.GetHoldingRegister(7), highFirst.GetInputCounter(1)), Is.EqualTo(((ushort)1, (ushort)0, 0x10000u)));
            Assert.That(lowFirst.GetInputCounter(0), Is.Zero);
            Assert.That(() => new ModbusSlaveModel(1, discreteInputs: 8, inputRegisters: 4).CountRisingEdges(ModbusRegisterTable.InputRegisters, 0),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contain("need 8 registers"));
        }
    }
}
