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
}
