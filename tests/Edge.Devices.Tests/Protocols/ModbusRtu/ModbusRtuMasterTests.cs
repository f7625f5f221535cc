using Kezekshi.Edge.Devices.Protocols.ModbusRtu;
using Kezekshi.Edge.Devices.Tests.TestSupport;
using Kezekshi.Edge.Devices.Transport;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Tests.Protocols.ModbusRtu;

[Category("Unit")]
public sealed class ModbusRtuMasterTests
{
    [Test]
    public async Task Every_function_round_trips_against_the_simulator()
    {
        await using var bus = new ModbusTestBus();
        var slave = bus.Simulator.AddSlave(1, coils: 32, discreteInputs: 32, holdingRegisters: 32, inputRegisters: 32);
        slave.SetDiscreteInput(3, true);
        slave.SetInputRegister(5, 0xBEEF);
        var m = bus.Master;

        await m.WriteSingleCoilAsync(1, 2, true);
        await m.WriteMultipleCoilsAsync(1, 10, new[] { true, false, true, true, false, false, true, true, true });
        await m.WriteSingleRegisterAsync(1, 4, 1234);
        await m.WriteMultipleRegistersAsync(1, 20, new ushort[] { 1, 2, 65535 });

        var coils = await m.ReadCoilsAsync(1, 0, 20);
        var inputs = await m.ReadDiscreteInputsAsync(1, 0, 8);
        var holding = await m.ReadHoldingRegistersAsync(1, 0, 24);
        var inputRegisters = await m.ReadInputRegistersAsync(1, 5, 1);

        Assert.Multiple(() =>
        {
            Assert.That(coils[2], Is.True);
            Assert.That(coils[10..19], Is.EqualTo(new[] { true, false, true, true, false, false, true, true, true }));
            Assert.That(coils.Count(c => c), Is.EqualTo(7));
            Assert.That(inputs, Is.EqualTo(new[] { false, false, false, true, false, false, false, false }));
            Assert.That(holding[4], Is.EqualTo(1234));
            Assert.That(holding[20..23], Is.EqualTo(new ushort[] { 1, 2, 65535 }));
            Assert.That(inputRegisters, Is.EqualTo(new ushort[] { 0xBEEF }));
            Assert.That(slave.GetCoil(12), Is.True);
            Assert.That(m.BadReplyCount, Is.Zero);
            Assert.That(bus.Logger.Count(LogLevel.Warning), Is.Zero);
        });
    }

    [Test]
    public async Task Polling_into_a_caller_buffer_reads_the_same_values()
    {
        await using var bus = new ModbusTestBus();
        var slave = bus.Simulator.AddSlave(4, discreteInputs: 16, holdingRegisters: 4);
        slave.SetDiscreteInput(15, true);
        slave.SetHoldingRegister(3, 77);
        var bits = new bool[16];
        var registers = new ushort[4];

        await bus.Master.ReadDiscreteInputsAsync(4, 0, bits.AsMemory());
        await bus.Master.ReadHoldingRegistersAsync(4, 0, registers.AsMemory());

        Assert.That(bits[15], Is.True);
        Assert.That(registers[3], Is.EqualTo(77));
    }

    [Test]
    public async Task Reading_a_register_the_slave_does_not_have_throws_a_readable_IllegalDataAddress()
    {
        await using var bus = new ModbusTestBus();
        bus.Simulator.AddSlave(3, holdingRegisters: 40);

        var ex = Assert.ThrowsAsync<ModbusException>(() => bus.Master.ReadHoldingRegistersAsync(3, 40, 1));

        Assert.That(ex!.Code, Is.EqualTo(ModbusExceptionCode.IllegalDataAddress));
        Assert.That(ex.Message, Is.EqualTo("IllegalDataAddress: register 40 does not exist on slave 3"));
        Assert.That(ex.IsTransient, Is.False);
        Assert.That(ex, Is.InstanceOf<DeviceException>());
        Assert.That(bus.Simulator.Requests, Has.Count.EqualTo(1), "exception responses are not retried");
    }

    [Test]
    public async Task A_slave_reporting_device_failure_surfaces_as_ModbusException_with_code_4()
    {
        await using var bus = new ModbusTestBus();
        bus.Simulator.AddSlave(2).ForcedException = ModbusExceptionCode.ServerDeviceFailure;

        var ex = Assert.ThrowsAsync<ModbusException>(() => bus.Master.WriteSingleCoilAsync(2, 0, true));

        Assert.That(ex!.Code, Is.EqualTo(ModbusExceptionCode.ServerDeviceFailure));
        Assert.That(ex.Message, Does.StartWith("ServerDeviceFailure: slave 2"));
    }

    [Test]
    public async Task A_dropped_reply_times_out_and_is_retried()
    {
        await using var bus = new ModbusTestBus(new ModbusRtuMasterOptions { Retries = 2, DefaultReplyTime = ModbusTestBus.TestReplyTime });
        bus.Simulator.AddSlave(1).SetHoldingRegister(0, 42);
        bus.FaultReplies(LoopbackFault.Drop, times: 1);

        var value = await bus.Master.ReadHoldingRegistersAsync(1, 0, 1);

        Assert.That(value, Is.EqualTo(new ushort[] { 42 }));
        Assert.That(bus.Simulator.Requests, Has.Count.EqualTo(2), "the request went out twice");
        Assert.That(bus.Master.BadReplyCount, Is.Zero, "silence is not a garbled frame");
    }

    [Test]
    public async Task A_corrupted_reply_is_counted_and_retried()
    {
        await using var bus = new ModbusTestBus(new ModbusRtuMasterOptions { Retries = 2, DefaultReplyTime = ModbusTestBus.TestReplyTime });
        bus.Simulator.AddSlave(1).SetHoldingRegister(0, 42);
        bus.FaultReplies(LoopbackFault.Corrupt, times: 1);

        var value = await bus.Master.ReadHoldingRegistersAsync(1, 0, 1);

        Assert.That(value, Is.EqualTo(new ushort[] { 42 }));
        Assert.That(bus.Master.BadReplyCount, Is.EqualTo(1));
        Assert.That(bus.Master.BadReplies.LogLinesWritten, Is.EqualTo(1));
        Assert.That(bus.Logger.CountEvent(1001), Is.EqualTo(1), "one rate-limited bad-frame warning");
        Assert.That(bus.Simulator.Requests, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task A_truncated_reply_ends_at_the_t3_5_silence_and_is_counted_and_retried()
    {
        await using var bus = new ModbusTestBus(new ModbusRtuMasterOptions { Retries = 1, DefaultReplyTime = ModbusTestBus.TestReplyTime });
        bus.Simulator.AddSlave(1, coils: 40);
        bus.FaultReplies(LoopbackFault.Truncate, times: 1);

        var coils = await bus.Master.ReadCoilsAsync(1, 0, 40);

        Assert.That(coils, Has.Length.EqualTo(40));
        Assert.That(bus.Master.BadReplyCount, Is.EqualTo(1));
    }

    [Test]
    public async Task Replies_garbled_on_every_attempt_give_a_transient_error_that_names_the_wiring()
    {
        await using var bus = new ModbusTestBus(new ModbusRtuMasterOptions { Retries = 2, DefaultReplyTime = ModbusTestBus.TestReplyTime });
        bus.Simulator.AddSlave(1);
        bus.FaultReplies(LoopbackFault.Corrupt, times: int.MaxValue);

        var ex = Assert.ThrowsAsync<ModbusBadReplyException>(() => bus.Master.ReadCoilsAsync(1, 0, 8));

        Assert.That(ex!.IsTransient, Is.True);
        Assert.That(ex.Message, Does.Contain("garbled").And.Contain("termination resistor"));
        Assert.That(bus.Master.BadReplyCount, Is.EqualTo(3));
        Assert.That(bus.Master.FailedRequestCount, Is.EqualTo(1));
    }

    [Test]
    public async Task A_silent_slave_gives_a_clear_did_not_answer_message_while_another_slave_on_the_bus_keeps_working()
    {
        var options = new ModbusRtuMasterOptions { Retries = 1, DefaultReplyTime = ModbusTestBus.TestReplyTime };
        options.Slaves[2] = new ModbusSlaveOptions { Description = "relay board", ReplyTime = TimeSpan.FromMilliseconds(25) };
        await using var bus = new ModbusTestBus(options);
        bus.Simulator.AddSlave(2).Silent = true;
        bus.Simulator.AddSlave(5).SetDiscreteInput(0, true);

        var ex = Assert.ThrowsAsync<ModbusNoReplyException>(() => bus.Master.WriteSingleCoilAsync(2, 0, true, ModbusPriority.Urgent));
        var inputs = await bus.Master.ReadDiscreteInputsAsync(5, 0, 1);

        Assert.That(ex!.IsTransient, Is.True);
        Assert.That(ex, Is.InstanceOf<DeviceException>());
        Assert.That(ex.Slave, Is.EqualTo(2));
        Assert.That(ex.Message, Does.StartWith("relay board at address 2 on loopback-a did not answer within "));
        Assert.That(ex.Message, Does.Contain("check power, A/B wires, address DIP switches, baud rate"));
        Assert.That(inputs, Is.EqualTo(new[] { true }));
        Assert.That(bus.Logger.CountEvent(1202), Is.EqualTo(1), "offline is logged once");
        Assert.That(bus.Logger.CountEvent(1003), Is.Zero);
    }

    [Test]
    public async Task A_slave_coming_back_is_logged_online_once()
    {
        await using var bus = new ModbusTestBus(new ModbusRtuMasterOptions { Retries = 0, DefaultReplyTime = TimeSpan.FromMilliseconds(100) });
        var slave = bus.Simulator.AddSlave(7);
        slave.Silent = true;
        Assert.ThrowsAsync<ModbusNoReplyException>(() => bus.Master.ReadCoilsAsync(7, 0, 1));
        Assert.ThrowsAsync<ModbusNoReplyException>(() => bus.Master.ReadCoilsAsync(7, 0, 1));
        slave.Silent = false;

        await bus.Master.ReadCoilsAsync(7, 0, 1);

        Assert.That(bus.Logger.CountEvent(1202), Is.EqualTo(1));
        Assert.That(bus.Logger.CountEvent(1003), Is.EqualTo(1));
    }

    [Test]
    public async Task Urgent_relay_write_overtakes_queued_input_polls()
    {
        var options = new ModbusRtuMasterOptions { Retries = 0, DefaultReplyTime = ModbusTestBus.TestReplyTime };
        options.Slaves[9] = new ModbusSlaveOptions { ReplyTime = TimeSpan.FromMilliseconds(500) };
        await using var bus = new ModbusTestBus(options);
        bus.Simulator.AddSlave(9).Silent = true; // holds the bus for its reply timeout
        bus.Simulator.AddSlave(1);
        bus.Simulator.AddSlave(2);

        var blocking = bus.Master.ReadCoilsAsync(9, 0, 1);
        var polls = Enumerable.Range(0, 5).Select(_ => bus.Master.ReadDiscreteInputsAsync(2, 0, 8)).ToArray();
        var relay = bus.Master.WriteSingleCoilAsync(1, 0, true, ModbusPriority.Urgent);
        Assert.That(bus.Master.QueuedRequests, Is.EqualTo(6), "precondition: all six wait behind the silent slave");

        Assert.ThrowsAsync<ModbusNoReplyException>(() => blocking);
        await relay;
        await Task.WhenAll(polls);

        var served = bus.Simulator.Requests.Select(r => r.Function).ToArray();
        Assert.That(served[0], Is.EqualTo(ModbusFunction.WriteSingleCoil), "the relay command went first");
        Assert.That(served[1..], Is.All.EqualTo(ModbusFunction.ReadDiscreteInputs));
        Assert.That(served, Has.Length.EqualTo(6));
    }

    [Test]
    public async Task A_request_cancelled_while_queued_leaves_the_queue_and_is_never_sent()
    {
        var options = new ModbusRtuMasterOptions { Retries = 0, DefaultReplyTime = ModbusTestBus.TestReplyTime };
        options.Slaves[9] = new ModbusSlaveOptions { ReplyTime = TimeSpan.FromMilliseconds(200) };
        await using var bus = new ModbusTestBus(options);
        bus.Simulator.AddSlave(9).Silent = true;
        bus.Simulator.AddSlave(1);
        using var cancel = new CancellationTokenSource();

        var blocking = bus.Master.ReadCoilsAsync(9, 0, 1);
        var cancelled = bus.Master.ReadCoilsAsync(1, 0, 1, cancellationToken: cancel.Token);
        var kept = bus.Master.ReadCoilsAsync(1, 5, 1);
        await cancel.CancelAsync();

        Assert.That(async () => await cancelled, Throws.InstanceOf<OperationCanceledException>());
        Assert.ThrowsAsync<ModbusNoReplyException>(() => blocking);
        await kept;
        Assert.That(bus.Simulator.Requests.Select(r => r.Address), Is.EqualTo(new ushort[] { 5 }));
    }

    [Test]
    public async Task A_broadcast_write_reaches_every_slave_and_expects_no_reply()
    {
        await using var bus = new ModbusTestBus(new ModbusRtuMasterOptions { BroadcastTurnaround = TimeSpan.FromMilliseconds(20), DefaultReplyTime = ModbusTestBus.TestReplyTime });
        var a = bus.Simulator.AddSlave(1);
        var b = bus.Simulator.AddSlave(2);

        await bus.Master.WriteSingleCoilAsync(ModbusLimits.BroadcastAddress, 3, true);
        await bus.Master.ReadCoilsAsync(1, 0, 1); // the bus is usable right after

        Assert.That(a.GetCoil(3), Is.True);
        Assert.That(b.GetCoil(3), Is.True);
        Assert.That(bus.Master.BadReplyCount, Is.Zero);
    }

    [Test]
    public async Task A_relay_pulse_is_recorded_as_two_coil_changes_with_ordered_timestamps()
    {
        await using var bus = new ModbusTestBus();
        bus.Simulator.AddSlave(1);
        var raised = new List<ModbusCoilChange>();
        bus.Simulator.CoilChanged += (_, e) => { lock (raised) raised.Add(e.Change); };
        long before = TimeProvider.System.GetTimestamp();

        await bus.Master.WriteSingleCoilAsync(1, 0, true, ModbusPriority.Urgent);
        await bus.Master.WriteSingleCoilAsync(1, 0, true, ModbusPriority.Urgent); // no change: not recorded
        await bus.Master.WriteSingleCoilAsync(1, 0, false, ModbusPriority.Urgent);

        var changes = bus.Simulator.CoilChanges;
        Assert.That(changes.Select(c => c.Value), Is.EqualTo(new[] { true, false }));
        Assert.That(changes[0].Timestamp, Is.GreaterThanOrEqualTo(before));
        Assert.That(changes[1].Timestamp, Is.GreaterThan(changes[0].Timestamp));
        lock (raised) Assert.That(raised, Is.EqualTo(changes));
    }

    [Test]
    public async Task Quantity_errors_are_thrown_before_anything_goes_on_the_wire()
    {
        await using var bus = new ModbusTestBus();
        bus.Simulator.AddSlave(1);

        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => bus.Master.ReadHoldingRegistersAsync(1, 0, 126));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => bus.Master.WriteMultipleRegistersAsync(1, 0, new ushort[124]));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => bus.Master.WriteMultipleCoilsAsync(1, 0, Array.Empty<bool>()));

        Assert.That(bus.MasterEnd.BytesWritten, Is.Zero);
    }

    [Test]
    public async Task Consecutive_requests_are_separated_by_at_least_t3_5_of_silence()
    {
        await using var bus = new ModbusTestBus(baudRate: 9600);
        bus.Simulator.AddSlave(1);

        for (int i = 0; i < 5; i++) await bus.Master.ReadCoilsAsync(1, 0, 1);

        // On loopback the wire takes no time, so only the master's own wait separates the frames.
        var stamps = bus.Simulator.Requests.Select(r => r.Timestamp).ToArray();
        var gap = ModbusRtuMaster.InterFrameGap(9600);
        for (int i = 1; i < stamps.Length; i++)
        {
            Assert.That(TimeProvider.System.GetElapsedTime(stamps[i - 1], stamps[i]), Is.GreaterThanOrEqualTo(gap));
        }
    }
}
