using Kezekshi.Edge.Devices.Protocols.ModbusRtu;
using Kezekshi.Edge.Devices.Tests.TestSupport;
using Kezekshi.Edge.Devices.Transport;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Tests.Protocols.ModbusRtu;

/// <summary>
/// A million random and mutated frames through the master's reply path and the slave's request parser:
/// nothing throws, every bad frame is counted, and the log stays bounded.
/// </summary>
[Category("Unit")]
public sealed class ModbusBadInputTests
{
    private const int Frames = 1_000_000;

    private static List<(byte[] Request, byte[] Reply)> ValidExchanges()
    {
        var list = new List<(byte[], byte[])>();
        var buffer = new byte[ModbusLimits.MaxFrameLength];
        void Add(ModbusRequest request, Func<byte[], int> reply)
        {
            var r = buffer.AsSpan(0, request.WriteTo(buffer)).ToArray();
            var replyBuffer = new byte[ModbusLimits.MaxFrameLength];
            list.Add((r, replyBuffer.AsSpan(0, reply(replyBuffer)).ToArray()));
        }
        var bits = Enumerable.Range(0, 2000).Select(i => i % 3 == 0).ToArray();
        var registers = Enumerable.Range(0, 125).Select(i => (ushort)(i * 257)).ToArray();
        Add(ModbusRequest.ReadCoils(1, 0, 8), b => ModbusResponse.WriteBits(b, 1, ModbusFunction.ReadCoils, bits.AsSpan(0, 8)));
        Add(ModbusRequest.ReadCoils(1, 5, 2000), b => ModbusResponse.WriteBits(b, 1, ModbusFunction.ReadCoils, bits));
        Add(ModbusRequest.ReadDiscreteInputs(2, 0, 19), b => ModbusResponse.WriteBits(b, 2, ModbusFunction.ReadDiscreteInputs, bits.AsSpan(0, 19)));
        Add(ModbusRequest.ReadHoldingRegisters(3, 0x6B, 3), b => ModbusResponse.WriteRegisters(b, 3, ModbusFunction.ReadHoldingRegisters, registers.AsSpan(0, 3)));
        Add(ModbusRequest.ReadHoldingRegisters(3, 0, 125), b => ModbusResponse.WriteRegisters(b, 3, ModbusFunction.ReadHoldingRegisters, registers));
        Add(ModbusRequest.ReadInputRegisters(4, 8, 1), b => ModbusResponse.WriteRegisters(b, 4, ModbusFunction.ReadInputRegisters, registers.AsSpan(0, 1)));
        Add(ModbusRequest.WriteSingleCoil(5, 0xAC, true), b => ModbusResponse.WriteEcho(b, 5, ModbusFunction.WriteSingleCoil, 0xAC, 0xFF00));
        Add(ModbusRequest.WriteSingleRegister(6, 1, 3), b => ModbusResponse.WriteEcho(b, 6, ModbusFunction.WriteSingleRegister, 1, 3));
        Add(ModbusRequest.WriteMultipleCoils(7, 0x13, 10, [0xCD, 0x01]), b => ModbusResponse.WriteEcho(b, 7, ModbusFunction.WriteMultipleCoils, 0x13, 10));
        Add(ModbusRequest.WriteMultipleRegisters(8, 1, [0, 10, 1, 2]), b => ModbusResponse.WriteEcho(b, 8, ModbusFunction.WriteMultipleRegisters, 1, 2));
        Add(ModbusRequest.ReadHoldingRegisters(3, 40, 1), b => ModbusResponse.WriteException(b, 3, 3, ModbusExceptionCode.IllegalDataAddress));
        return list;
    }

    [Test]
    public async Task A_million_mutated_replies_are_counted_as_bad_without_an_exception_and_with_a_bounded_log()
    {
        var time = new ManualTimeProvider();
        var logger = new ListLogger();
        var interval = TimeSpan.FromSeconds(30);
        var (masterEnd, _) = LoopbackTransport.CreatePair(19200);
        await using var master = new ModbusRtuMaster(masterEnd, ownsTransport: true, new ModbusRtuMasterOptions { BadReplyLogInterval = interval }, logger, time);
        var exchanges = ValidExchanges();
        var mutator = new FrameMutator(seed: 1234);
        var output = new byte[mutator.MaxOutputLength(ModbusLimits.MaxFrameLength)];
        long accepted = 0, acceptedMutated = 0, falseAccepts = 0, falseAcceptsFromBitFlips = 0;

        for (int i = 0; i < Frames; i++)
        {
            var (request, reply) = exchanges[i % exchanges.Count];
            int length = mutator.Mutate(reply, output, out var mutation);
            // The master's framing: the request implies the length, an exception bit shortens it to 5.
            int expected = ModbusRequest.TryParse(request, out var parsed, out _) ? parsed.ExpectedResponseLength : 0;
            int frameLength = Math.Min(length, ModbusResponse.GetFrameLength(output.AsSpan(0, length), expected));
            if (master.AcceptReply(request, output.AsSpan(0, frameLength), out _, out _))
            {
                accepted++;
                if (mutation != Mutation.Unchanged) acceptedMutated++; // e.g. bytes after a complete frame
                if (!output.AsSpan(0, frameLength).SequenceEqual(reply))
                {
                    falseAccepts++;
                    if (mutation == Mutation.BitFlips) falseAcceptsFromBitFlips++;
                    TestContext.Out.WriteLine($"accepted {mutation}: {Hex.Format(output.AsSpan(0, frameLength))} for valid {Hex.Format(reply)}");
                }
            }
            time.Advance(TimeSpan.FromMilliseconds(1));
        }

        long rejected = Frames - accepted;
        long maxLogLines = 1 + (long)(TimeSpan.FromMilliseconds(Frames) / interval);
        TestContext.Out.WriteLine($"accepted {accepted} (mutated but still valid: {acceptedMutated}), rejected {rejected}, log lines {master.BadReplies.LogLinesWritten}");
        Assert.Multiple(() =>
        {
            Assert.That(master.BadReplyCount, Is.EqualTo(rejected), "every rejected frame is counted");
            // CRC-16 catches every error of up to 3 bits (Serial Line v1.02 §2.5.1.2); a shifted frame (bytes inserted
            // or deleted, then cut at the expected length) slips through with probability about 2^-16.
            Assert.That(falseAcceptsFromBitFlips, Is.Zero, "no bit-flipped frame passes");
            Assert.That(falseAccepts, Is.LessThanOrEqualTo(rejected / 4096), "CRC-16 collisions stay near 2^-16");
            Assert.That(rejected, Is.GreaterThan(Frames * 8 / 10));
            Assert.That(master.BadReplies.LogLinesWritten, Is.InRange(1, maxLogLines));
            Assert.That(logger.Count(LogLevel.Warning), Is.EqualTo(master.BadReplies.LogLinesWritten));
        });
    }

    [Test]
    public void A_million_mutated_requests_never_throw_in_the_slave_parser()
    {
        var exchanges = ValidExchanges();
        var mutator = new FrameMutator(seed: 99);
        var output = new byte[mutator.MaxOutputLength(ModbusLimits.MaxFrameLength)];
        var reply = new byte[ModbusLimits.MaxFrameLength];
        long parsed = 0, quantityRefused = 0, roundTripMismatches = 0;
        var rewritten = new byte[ModbusLimits.MaxFrameLength];

        for (int i = 0; i < Frames; i++)
        {
            var request = exchanges[i % exchanges.Count].Request;
            int length = mutator.Mutate(request, output, out _);
            int frameLength = ModbusRequest.GetFrameLength(output.AsSpan(0, length));
            var frame = output.AsSpan(0, frameLength > 0 ? Math.Min(length, frameLength) : length);
            if (!ModbusRequest.TryParse(frame, out var r, out _)) continue;
            parsed++;
            if (!r.HasValidQuantity(out _))
            {
                quantityRefused++;
                ModbusResponse.WriteException(reply, r.Slave, r.FunctionCode, ModbusExceptionCode.IllegalDataValue);
            }
            else if (!rewritten.AsSpan(0, r.WriteTo(rewritten)).SequenceEqual(frame))
            {
                roundTripMismatches++;
            }
        }

        TestContext.Out.WriteLine($"parsed {parsed}, refused for quantity {quantityRefused}");
        Assert.That(roundTripMismatches, Is.Zero, "every frame that parses writes back identically");
    }

    [Test]
    public async Task Mutated_replies_on_the_wire_end_every_request_with_a_result_or_a_device_exception()
    {
        const int Requests = 1000;
        var (masterEnd, slaveEnd) = LoopbackTransport.CreatePair(115200);
        var logger = new ListLogger();
        await using var master = new ModbusRtuMaster(masterEnd, ownsTransport: true,
            new ModbusRtuMasterOptions { Retries = 0, DefaultReplyTime = TimeSpan.FromMilliseconds(5) }, logger);
        using var stop = new CancellationTokenSource();
        var responder = Task.Run(() => MutatingResponderAsync(slaveEnd, stop.Token));
        var outcomes = new Dictionary<string, int>();

        for (int i = 0; i < Requests; i++)
        {
            string outcome;
            try
            {
                switch (i % 3)
                {
                    case 0: await master.ReadHoldingRegistersAsync(3, 0, 4); break;
                    case 1: await master.ReadDiscreteInputsAsync(2, 0, 12); break;
                    default: await master.WriteSingleCoilAsync(5, 1, true, ModbusPriority.Urgent); break;
                }
                outcome = "ok";
            }
            catch (DeviceException ex) when (ex is ModbusException or ModbusNoReplyException or ModbusBadReplyException)
            {
                outcome = ex.GetType().Name;
            }
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        await stop.CancelAsync();
        await responder;
        await slaveEnd.DisposeAsync();

        TestContext.Out.WriteLine(string.Join(", ", outcomes.Select(kv => $"{kv.Key}: {kv.Value}")));
        Assert.That(outcomes.Values.Sum(), Is.EqualTo(Requests));
        Assert.That(outcomes.GetValueOrDefault(nameof(ModbusBadReplyException)), Is.GreaterThan(0));
        Assert.That(master.BadReplyCount, Is.GreaterThanOrEqualTo(outcomes.GetValueOrDefault(nameof(ModbusBadReplyException))));
    }

    /// <summary>Answers each request with a mutation of the correct reply (or nothing).</summary>
    private static async Task MutatingResponderAsync(LoopbackTransport transport, CancellationToken cancellationToken)
    {
        var mutator = new FrameMutator(seed: 7, maxRandomLength: 40);
        var request = new byte[ModbusLimits.MaxFrameLength];
        var reply = new byte[ModbusLimits.MaxFrameLength];
        var output = new byte[mutator.MaxOutputLength(ModbusLimits.MaxFrameLength)];
        var registers = new ushort[] { 1, 2, 3, 4 };
        var bits = new bool[12];
        while (!cancellationToken.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await transport.ReadAsync(request, TimeSpan.FromSeconds(1), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            int length = CorrectReply(request.AsSpan(0, n), reply, registers, bits);
            if (length == 0) continue;
            if (mutator.Next(10) == 0) continue; // dropped
            int mutated = mutator.Mutate(reply.AsSpan(0, length), output, out _);
            await transport.WriteAsync(output.AsMemory(0, mutated), cancellationToken);
        }
    }

    private static int CorrectReply(ReadOnlySpan<byte> received, Span<byte> reply, ushort[] registers, bool[] bits)
    {
        if (received.Length < 8 || !ModbusRequest.TryParse(received[..8], out var r, out _)) return 0;
        return r.Function switch
        {
            ModbusFunction.ReadHoldingRegisters => ModbusResponse.WriteRegisters(reply, r.Slave, r.Function, registers.AsSpan(0, r.Quantity)),
            ModbusFunction.ReadDiscreteInputs => ModbusResponse.WriteBits(reply, r.Slave, r.Function, bits.AsSpan(0, r.Quantity)),
            _ => ModbusResponse.WriteEcho(reply, r.Slave, r.Function, r.Address, r.Value),
        };
    }
}
