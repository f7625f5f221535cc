using Kezekshi.Edge.Devices.Protocols.Osdp;
using Kezekshi.Edge.Devices.Transport;

namespace Kezekshi.Edge.Devices.Tests.Protocols.Osdp;

/// <summary>The PD simulator driven with hand-made frames, as a CP would send them (OSDP v2.2 §5.6, §7.3).</summary>
[Category("Unit")]
public sealed class OsdpPeripheralSimulatorTests
{
    private static async Task<(LoopbackTransport Cp, OsdpPeripheralSimulator Sim, CancellationTokenSource Stop, Task Run)> StartAsync()
    {
        var (cp, pd) = LoopbackTransport.CreatePair();
        var sim = new OsdpPeripheralSimulator(pd, ownsTransport: true);
        sim.AddDevice(1);
        sim.AddDevice(2);
        var stop = new CancellationTokenSource();
        var run = Task.Run(() => sim.RunAsync(stop.Token));
        await Task.Yield();
        return (cp, sim, stop, run);
    }

    private static async Task<byte[]> ExchangeAsync(LoopbackTransport cp, byte[] command, TimeSpan? wait = null)
    {
        await cp.WriteAsync(command, CancellationToken.None);
        var buffer = new byte[256];
        int total = 0;
        while (true)
        {
            int n = await cp.ReadAsync(buffer.AsMemory(total), wait ?? TimeSpan.FromSeconds(10), CancellationToken.None);
            if (n == 0) return buffer[..total];
            total += n;
            if (OsdpFrame.TryParse(buffer.AsSpan(0, total), out _, out int consumed).Status == OsdpParseStatus.Ok && consumed == total) return buffer[..total];
        }
    }

    private static byte[] Command(byte address, byte sequence, byte code, params byte[] data)
    {
        var buffer = new byte[64];
        int n = new OsdpFrame(address, false, sequence, code, data).Write(buffer);
        return buffer[..n];
    }

    private static OsdpNakCode NakCodeOf(byte[] reply)
    {
        Assert.That(OsdpFrame.TryParse(reply, out var frame, out _).Status, Is.EqualTo(OsdpParseStatus.Ok));
        Assert.That(frame.Code, Is.EqualTo((byte)OsdpReplyCode.Nak));
        Assert.That(OsdpNak.TryParse(frame.Data, out var nak), Is.True);
        return nak.ErrorCode;
    }

    [Test]
    public async Task Unknown_command_bad_length_and_bad_crc_are_NAKed_with_their_codes()
    {
        var (cp, sim, stop, run) = await StartAsync();

        Assert.That(NakCodeOf(await ExchangeAsync(cp, Command(1, 0, 0x7A))), Is.EqualTo(OsdpNakCode.UnknownCommand));
        Assert.That(NakCodeOf(await ExchangeAsync(cp, Command(1, 0, (byte)OsdpCommandCode.Led, new byte[13]))), Is.EqualTo(OsdpNakCode.CommandLength));
        var broken = Command(1, 0, (byte)OsdpCommandCode.Poll);
        broken[^1] ^= 0x01;
        Assert.That(NakCodeOf(await ExchangeAsync(cp, broken)), Is.EqualTo(OsdpNakCode.CheckCharacter));
        Assert.That(sim.BadFramesReceived, Is.GreaterThanOrEqualTo(1)); // the SOM, then the rest of the frame as garbage

        await stop.CancelAsync();
        await run;
        await sim.DisposeAsync();
    }

    [Test]
    public async Task Same_sequence_number_gets_the_same_reply_again_without_acting_twice()
    {
        var (cp, sim, stop, run) = await StartAsync();
        var led = new byte[OsdpLedCommand.RecordLength];
        OsdpLedCommand.Steady(OsdpLedColor.Green).Write(led);

        Assert.That(NakCodeOrAck(await ExchangeAsync(cp, Command(2, 0, (byte)OsdpCommandCode.Poll))), Is.EqualTo(0x40));
        var first = await ExchangeAsync(cp, Command(2, 1, (byte)OsdpCommandCode.Led, led));
        var again = await ExchangeAsync(cp, Command(2, 1, (byte)OsdpCommandCode.Led, led));

        Assert.That(again, Is.EqualTo(first));
        Assert.That(sim.Device(2).RepeatedReplies, Is.EqualTo(1));
        Assert.That(sim.Device(2).LedCommands, Has.Count.EqualTo(1));
        Assert.That(NakCodeOf(await ExchangeAsync(cp, Command(2, 3, (byte)OsdpCommandCode.Poll))), Is.EqualTo(OsdpNakCode.UnexpectedSequence));

        await stop.CancelAsync();
        await run;
        await sim.DisposeAsync();
    }

    [Test]
    public async Task Replies_come_from_the_addressed_reader_only_and_silent_readers_do_not_answer()
    {
        var (cp, sim, stop, run) = await StartAsync();

        var reply = await ExchangeAsync(cp, Command(2, 0, (byte)OsdpCommandCode.Id, 0));
        Assert.That(OsdpFrame.TryParse(reply, out var frame, out _).Status, Is.EqualTo(OsdpParseStatus.Ok));
        Assert.That((frame.Address, frame.IsReply, frame.Code), Is.EqualTo(((byte)2, true, (byte)OsdpReplyCode.PdId)));
        Assert.That(OsdpPdId.TryParse(frame.Data, out var id) && id == sim.Device(2).Identity, Is.True);

        sim.Silent(1);
        Assert.That(await ExchangeAsync(cp, Command(1, 0, (byte)OsdpCommandCode.Poll), TimeSpan.FromMilliseconds(200)), Is.Empty);
        Assert.That(await ExchangeAsync(cp, Command(9, 0, (byte)OsdpCommandCode.Poll), TimeSpan.FromMilliseconds(200)), Is.Empty);

        await stop.CancelAsync();
        await run;
        await sim.DisposeAsync();
    }

    private static byte NakCodeOrAck(byte[] reply)
    {
        Assert.That(OsdpFrame.TryParse(reply, out var frame, out _).Status, Is.EqualTo(OsdpParseStatus.Ok));
        return frame.Code;
    }
}
