using Kezekshi.Edge.Devices.Cards;
using Kezekshi.Edge.Devices.Protocols.Osdp;
using Kezekshi.Edge.Devices.Transport;

namespace Kezekshi.Edge.Devices.Tests.Protocols.Osdp;

/// <summary>
/// The CP session against the PD simulator on a loopback pair (state machine, not timing).
/// Waits use a hang guard only; nothing asserts how fast something happened.
/// </summary>
[Category("Unit")]
public sealed class OsdpBusTests
{
    [Test]
    public async Task Two_readers_on_one_bus_are_polled_and_identified()
    {
        await using var h = OsdpHarness.Start(1, 2);
        await h.WaitOnlineAsync(1, 2);
        await h.WaitUntilAsync(() => h.Simulator.Device(1).PollCount > 3 && h.Simulator.Device(2).PollCount > 3, "both readers polled");

        Assert.That(h.Bus.GetStatus(1).Identity, Is.EqualTo(h.Simulator.Device(1).Identity));
        Assert.That(h.Bus.GetStatus(2).Identity!.SerialNumber, Is.EqualTo(h.Simulator.Device(2).Identity.SerialNumber));
        Assert.That(h.Bus.Readers.Select(r => r.ReaderId), Is.EqualTo(new[] { "reader-1", "reader-2" }));
        Assert.That(h.Logger.Count(1003), Is.EqualTo(2), "one 'online' line per reader");
    }

    [Test]
    public async Task Sequence_numbers_run_0_then_1_2_3_1_per_reader()
    {
        await using var h = OsdpHarness.Start(1, 2);
        await h.WaitUntilAsync(() => h.Simulator.Device(2).ReceivedCommands.Count > 10, "enough commands");
        foreach (byte address in new byte[] { 1, 2 })
        {
            var sequences = h.Simulator.Device(address).ReceivedCommands.Select(c => c.Sequence).ToArray();
            Assert.That(sequences[0], Is.Zero, $"reader {address} starts at SQN 0");
            for (int i = 1; i < sequences.Length; i++)
            {
                int expected = sequences[i - 1] >= 3 ? 1 : sequences[i - 1] + 1;
                Assert.That(sequences[i], Is.EqualTo(expected), $"reader {address}, command {i}");
            }
        }
    }

    [Test]
    public async Task Wiegand26_card_arrives_as_CardRead_with_the_canonical_number()
    {
        await using var h = OsdpHarness.Start(1, 2);
        await h.WaitOnlineAsync(1, 2);
        long before = TimeProvider.System.GetTimestamp();

        h.Simulator.PresentCard(2, Wiegand.Encode26(123, 45678), 26);
        var read = await h.Bus.CardReads.ReadAsync(h.Guard);

        Assert.That(read.ReaderId, Is.EqualTo("reader-2"));
        Assert.That(read.CardNumber, Is.EqualTo(123UL * 65536 + 45678));
        Assert.That(read.BitCount, Is.EqualTo(26));
        Assert.That(read.ReceivedTimestamp, Is.GreaterThan(before));
        Assert.That(read.ReceivedTimestamp, Is.LessThanOrEqualTo(TimeProvider.System.GetTimestamp()));
    }

    [Test]
    public async Task Card_with_another_bit_count_is_taken_whole()
    {
        await using var h = OsdpHarness.Start(1);
        await h.WaitOnlineAsync(1);
        h.Simulator.PresentCard(1, 0x04A1B2C3D4E5F6, 56);
        var read = await h.Bus.CardReads.ReadAsync(h.Guard);
        Assert.That(read.CardNumber, Is.EqualTo(0x04A1B2C3D4E5F6UL));
        Assert.That(read.BitCount, Is.EqualTo(56));
    }

    [Test]
    public async Task Formatted_card_digits_become_the_card_number()
    {
        await using var h = OsdpHarness.Start(1);
        await h.WaitOnlineAsync(1);
        h.Simulator.PresentCardFormatted(1, "0008123456");
        var read = await h.Bus.CardReads.ReadAsync(h.Guard);
        Assert.That(read.CardNumber, Is.EqualTo(8123456UL));
        Assert.That(read.BitCount, Is.Zero);
    }

    [Test]
    public async Task Keypad_digits_arrive_as_a_KeypadEntry()
    {
        await using var h = OsdpHarness.Start(1, 2);
        await h.WaitOnlineAsync(1, 2);
        h.Simulator.PressKeys(1, "4711#");
        var entry = await h.Bus.KeypadEntries.ReadAsync(h.Guard);
        Assert.That(entry.ReaderId, Is.EqualTo("reader-1"));
        Assert.That(entry.Digits, Is.EqualTo("4711#"));
    }

    [Test]
    public async Task Led_buzzer_and_output_commands_are_acknowledged_and_recorded()
    {
        await using var h = OsdpHarness.Start(1, 2);
        await h.WaitOnlineAsync(1, 2);

        await h.Bus.SendLedAsync(2, OsdpLedCommand.Temporary(OsdpLedColor.Green, TimeSpan.FromSeconds(2)), h.Guard);
        await h.Bus.SendBuzzerAsync(2, OsdpBuzzerCommand.Beep(2), h.Guard);
        await h.Bus.SendOutputAsync(2, new OsdpOutputCommand(0, OsdpOutputControl.TemporaryOn, 30), h.Guard);

        var reader = h.Simulator.Device(2);
        Assert.That(reader.LastLedColor, Is.EqualTo(OsdpLedColor.Green), "green LED was lit");
        Assert.That(reader.LedCommands.Single().Command.TemporaryTimer, Is.EqualTo(20));
        Assert.That(reader.BuzzerCommands.Single().Command.Count, Is.EqualTo(2));
        Assert.That(reader.OutputCommands.Single().Command, Is.EqualTo(new OsdpOutputCommand(0, OsdpOutputControl.TemporaryOn, 30)));
        Assert.That(reader.LedCommands[0].Timestamp, Is.LessThanOrEqualTo(reader.BuzzerCommands[0].Timestamp));
        Assert.That(h.Simulator.Device(1).LedCommands, Is.Empty, "the other reader was not touched");
    }

    [Test]
    public async Task Id_capabilities_and_local_status_can_be_asked_for()
    {
        await using var h = OsdpHarness.Start(1);
        await h.WaitOnlineAsync(1);
        h.Simulator.Device(1).LocalStatus = new OsdpLocalStatus(Tamper: true, PowerFailure: false);

        var id = await h.Bus.GetIdAsync(1, h.Guard);
        var caps = await h.Bus.GetCapabilitiesAsync(1, h.Guard);
        var status = await h.Bus.GetLocalStatusAsync(1, h.Guard);

        Assert.That(id, Is.EqualTo(h.Simulator.Device(1).Identity));
        Assert.That(caps.Capabilities, Is.EqualTo(h.Simulator.Device(1).Capabilities.Capabilities));
        Assert.That(status.Tamper, Is.True);
    }

    [Test]
    public async Task Dropped_reply_is_retried_with_the_same_sequence_number_and_acted_on_once()
    {
        await using var h = OsdpHarness.Start(1);
        await h.WaitOnlineAsync(1);
        int state = 0; // 0 waiting for the LED command, 1 drop the next reply, 2 done
        h.CpEnd.FaultFilter = data =>
        {
            if (data.Length > 5 && data.Span[5] == (byte)OsdpCommandCode.Led) Interlocked.CompareExchange(ref state, 1, 0);
            return LoopbackFault.None;
        };
        h.PdEnd.FaultFilter = _ => Interlocked.CompareExchange(ref state, 2, 1) == 1 ? LoopbackFault.Drop : LoopbackFault.None;

        await h.Bus.SendLedAsync(1, OsdpLedCommand.Steady(OsdpLedColor.Red), h.Guard);

        var reader = h.Simulator.Device(1);
        var leds = reader.ReceivedCommands.Where(c => c.Code == (byte)OsdpCommandCode.Led).ToArray();
        Assert.That(leds, Has.Length.EqualTo(2), "sent twice");
        Assert.That(leds[1].Sequence, Is.EqualTo(leds[0].Sequence), "the retry reuses the SQN");
        Assert.That(reader.RepeatedReplies, Is.EqualTo(1), "the PD resent its reply instead of acting again");
        Assert.That(reader.LedCommands, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Garbled_reply_is_counted_and_the_command_retried()
    {
        await using var h = OsdpHarness.Start(1);
        await h.WaitOnlineAsync(1);
        long badBefore = h.Bus.BadInputCount;

        h.Simulator.GarbleNextReply(1);
        await h.Bus.SendBuzzerAsync(1, OsdpBuzzerCommand.Beep(), h.Guard);

        Assert.That(h.Bus.BadInputCount, Is.GreaterThan(badBefore));
        Assert.That(h.Simulator.Device(1).BuzzerCommands, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Corrupted_command_is_NAKed_by_the_reader_and_sent_again()
    {
        await using var h = OsdpHarness.Start(1);
        await h.WaitOnlineAsync(1);
        int corrupted = 0;
        h.CpEnd.FaultFilter = data =>
            data.Length > 5 && data.Span[5] == (byte)OsdpCommandCode.Led && Interlocked.Exchange(ref corrupted, 1) == 0
                ? LoopbackFault.Corrupt
                : LoopbackFault.None;

        await h.Bus.SendLedAsync(1, OsdpLedCommand.Steady(OsdpLedColor.Blue), h.Guard);

        var reader = h.Simulator.Device(1);
        Assert.That(reader.NaksSent, Does.Contain(OsdpNakCode.CheckCharacter));
        Assert.That(h.Simulator.BadFramesReceived, Is.GreaterThanOrEqualTo(1));
        Assert.That(reader.LastLedColor, Is.EqualTo(OsdpLedColor.Blue));
    }

    [Test]
    public async Task Nak_for_an_unexpected_sequence_number_restarts_the_sequence_at_zero()
    {
        await using var h = OsdpHarness.Start(1);
        await h.WaitOnlineAsync(1);
        await h.WaitUntilAsync(() => h.Simulator.Device(1).ReceivedCommands.Count > 4, "a few polls");
        int before = h.Simulator.Device(1).ReceivedCommands.Count;

        h.Simulator.NakNextCommand(1, OsdpNakCode.UnexpectedSequence);
        await h.WaitUntilAsync(() => h.Simulator.Device(1).ReceivedCommands.Count > before + 3, "more polls");

        var after = h.Simulator.Device(1).ReceivedCommands.Skip(before).ToArray();
        int nakedAt = 0; // the first command after arming got the NAK
        Assert.That(after[nakedAt + 1].Sequence, Is.Zero, "resent with SQN 0");
        Assert.That(after[nakedAt + 2].Sequence, Is.EqualTo(1));
        Assert.That(h.Logger.Count(1103), Is.EqualTo(1));
    }

    [Test]
    public async Task Other_naks_fail_the_command_with_the_reason()
    {
        await using var h = OsdpHarness.Start(1);
        await h.WaitOnlineAsync(1);
        h.Simulator.NakNextCommand(1, OsdpNakCode.UnableToProcess);
        // The NAK may land on a poll before our LED goes out; then the LED succeeds. Arm until an LED is refused.
        OsdpNakException? refused = null;
        for (int i = 0; i < 20 && refused is null; i++)
        {
            h.Simulator.NakNextCommand(1, OsdpNakCode.UnableToProcess);
            try { await h.Bus.SendLedAsync(1, OsdpLedCommand.Steady(OsdpLedColor.Amber), h.Guard); }
            catch (OsdpNakException e) { refused = e; }
        }
        Assert.That(refused, Is.Not.Null);
        Assert.That(refused!.Code, Is.EqualTo(OsdpNakCode.UnableToProcess));
        Assert.That(refused.Command, Is.EqualTo((byte)OsdpCommandCode.Led));
        Assert.That(h.Logger.Count(1101), Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public async Task Reader_that_stops_answering_is_marked_offline_and_comes_back()
    {
        await using var h = OsdpHarness.Start(1, 2);
        await h.WaitOnlineAsync(1, 2);
        var changes = new System.Collections.Concurrent.ConcurrentQueue<OsdpReaderStatus>();
        h.Bus.ReaderStatusChanged += (_, status) => changes.Enqueue(status);

        h.Simulator.Silent(2);
        await h.WaitUntilAsync(() => !h.Bus.GetStatus(2).IsOnline, "reader 2 offline");
        Assert.That(h.Logger.Count(1002, "reader-2"), Is.EqualTo(1), "DeviceOffline logged once");
        Assert.That(changes.Single(c => c.Address == 2).IsOnline, Is.False);
        Assert.ThrowsAsync<DeviceException>(async () => await h.Bus.SendLedAsync(2, OsdpLedCommand.Steady(OsdpLedColor.Red)));

        long pollsOf1 = h.Simulator.Device(1).PollCount;
        await h.WaitUntilAsync(() => h.Simulator.Device(1).PollCount > pollsOf1 + 10, "reader 1 still polled while 2 is offline");
        Assert.That(h.Bus.GetStatus(1).IsOnline, Is.True);

        int before = h.Simulator.Device(2).ReceivedCommands.Count;
        h.Simulator.Silent(2, false);
        await h.WaitOnlineAsync(2);
        await h.WaitUntilAsync(() => h.Simulator.Device(2).ReceivedCommands.Count > before + 3, "reader 2 polled again");

        var afterReturn = h.Simulator.Device(2).ReceivedCommands.Skip(before).ToArray();
        Assert.That(afterReturn[0].Sequence, Is.Zero, "sequence restarts at 0");
        Assert.That(afterReturn.Select(c => c.Code), Does.Contain((byte)OsdpCommandCode.Id), "ID asked again");
        Assert.That(afterReturn.Select(c => c.Code), Does.Contain((byte)OsdpCommandCode.Capabilities), "CAP asked again");
        Assert.That(h.Logger.Count(1003, "reader-2"), Is.EqualTo(2), "online logged at start and on return");
        Assert.That(changes.Last(c => c.Address == 2).IsOnline, Is.True);
    }

    [Test]
    public async Task Bad_parity_wiegand_read_is_rejected_and_counted()
    {
        await using var h = OsdpHarness.Start(1);
        await h.WaitOnlineAsync(1);

        h.Simulator.PresentCard(1, Wiegand.Encode26(123, 45678) ^ 1, 26);   // odd parity bit flipped
        h.Simulator.PresentCard(1, Wiegand.Encode26(10, 20), 26);
        var read = await h.Bus.CardReads.ReadAsync(h.Guard);

        Assert.That(read.CardNumber, Is.EqualTo(10UL * 65536 + 20), "only the good read is delivered");
        Assert.That(h.Bus.RejectedCardReads, Is.EqualTo(1));
        Assert.That(h.Bus.BadInputCount, Is.GreaterThanOrEqualTo(1));
        Assert.That(h.Logger.Count(1001), Is.GreaterThanOrEqualTo(1), "logged through the rate-limited counter");
    }

    [Test]
    public async Task Commands_to_an_unknown_address_are_refused()
    {
        await using var h = OsdpHarness.Start(1);
        Assert.Throws<ArgumentException>(() => h.Bus.SendLedAsync(9, OsdpLedCommand.Steady(OsdpLedColor.Red)));
        Assert.Throws<ArgumentException>(() => h.Bus.AddReader(1, "again"));
    }

    [Test]
    public async Task Bus_set_to_checksum_mode_works_end_to_end()
    {
        var (cpEnd, pdEnd) = LoopbackTransport.CreatePair();
        var logger = new CollectingLogger();
        await using var bus = new OsdpBus(cpEnd, true, new OsdpBusOptions { UseCrc = false, PollInterval = TimeSpan.FromMilliseconds(5) }, logger);
        await using var sim = new OsdpPeripheralSimulator(pdEnd, true);
        sim.AddDevice(5);
        bus.AddReader(5, "checksum-reader");
        using var stop = new CancellationTokenSource();
        var simTask = Task.Run(() => sim.RunAsync(stop.Token));
        var busTask = Task.Run(() => bus.RunAsync(stop.Token));

        sim.PresentCard(5, Wiegand.Encode26(1, 2), 26);
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var read = await bus.CardReads.ReadAsync(guard.Token);

        Assert.That(read.CardNumber, Is.EqualTo(65536UL + 2));
        await stop.CancelAsync();
        await Task.WhenAll(simTask, busTask);
    }

    [Test]
    public async Task Queued_commands_go_out_before_the_next_poll()
    {
        await using var h = OsdpHarness.Start(1);
        await h.WaitOnlineAsync(1);
        int before = h.Simulator.Device(1).ReceivedCommands.Count;

        var led = h.Bus.SendLedAsync(1, OsdpLedCommand.Steady(OsdpLedColor.Green)).AsTask();
        var buzzer = h.Bus.SendBuzzerAsync(1, OsdpBuzzerCommand.Beep()).AsTask();
        var output = h.Bus.SendOutputAsync(1, new OsdpOutputCommand(0, OsdpOutputControl.PermanentOnAbortTimed, 0)).AsTask();
        await Task.WhenAll(led, buzzer, output).WaitAsync(h.Guard);

        var codes = h.Simulator.Device(1).ReceivedCommands.Skip(before).Select(c => (OsdpCommandCode)c.Code)
            .SkipWhile(c => c == OsdpCommandCode.Poll).Take(3);
        Assert.That(codes, Is.EqualTo(new[] { OsdpCommandCode.Led, OsdpCommandCode.Buzzer, OsdpCommandCode.Output }), "no poll in between");
    }

    [Test]
    public async Task Every_command_and_reply_passes_through_the_secure_channel_seam()
    {
        var (cpEnd, pdEnd) = LoopbackTransport.CreatePair();
        var seam = new CountingSecureChannel();
        await using var bus = new OsdpBus(cpEnd, true, new OsdpBusOptions { SecureChannel = seam, PollInterval = TimeSpan.FromMilliseconds(5) }, new CollectingLogger());
        await using var sim = new OsdpPeripheralSimulator(pdEnd, true);
        sim.AddDevice(1);
        bus.AddReader(1, "sealed");
        using var stop = new CancellationTokenSource();
        var simTask = Task.Run(() => sim.RunAsync(stop.Token));
        var busTask = Task.Run(() => bus.RunAsync(stop.Token));

        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await bus.SendLedAsync(1, OsdpLedCommand.Steady(OsdpLedColor.Red), guard.Token);
        await stop.CancelAsync();
        await Task.WhenAll(simTask, busTask);

        int received = sim.Device(1).ReceivedCommands.Count;
        Assert.That(seam.Written, Is.InRange(received, received + 1), "every command (the last may not have been read before the stop)");
        Assert.That(seam.Unwrapped, Is.GreaterThanOrEqualTo(seam.Written - 1), "every reply (the last may be cut by the stop)");
    }

    private sealed class CountingSecureChannel : IOsdpSecureChannel
    {
        private int _written;
        private int _unwrapped;

        public int Written => Volatile.Read(ref _written);
        public int Unwrapped => Volatile.Read(ref _unwrapped);

        public int WriteCommand(in OsdpFrame command, Span<byte> destination)
        {
            Interlocked.Increment(ref _written);
            return command.Write(destination);
        }

        public bool TryUnwrapReply(in OsdpFrame reply, Span<byte> scratch, out OsdpFrame plain)
        {
            Interlocked.Increment(ref _unwrapped);
            plain = reply;
            return true;
        }

        public void Reset(byte address) { }
    }
}
