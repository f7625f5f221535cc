using System.Text;
using Kezekshi.Edge.Devices.Protocols.LineReader;
using Kezekshi.Edge.Devices.Tests.TestSupport;
using Kezekshi.Edge.Devices.Transport;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Tests.Protocols.LineReader;

/// <summary>
/// A million random and mutated lines through the reader's line splitter and parser: nothing throws, bad
/// lines are counted, the log stays bounded, and the reader still reads a clean card afterwards.
/// </summary>
[Category("Unit")]
public sealed class LineReaderBadInputTests
{
    private const int Lines = 1_000_000;

    private static IEnumerable<TestCaseData> Formats()
    {
        yield return new TestCaseData(new LineReaderOptions { Prefix = "\u0002", Terminator = "\r\n", Wiegand26 = Wiegand26Conversion.FromFrame })
            .SetArgDisplayNames("STX, hex Wiegand-26 frame, CR LF");
        yield return new TestCaseData(new LineReaderOptions { Terminator = "\r", NumberFormat = LineNumberFormat.Decimal })
            .SetArgDisplayNames("decimal, CR");
        yield return new TestCaseData(new LineReaderOptions { Terminator = "\u0003", Wiegand26 = Wiegand26Conversion.FromEmMarine, MaxLineLength = 24 })
            .SetArgDisplayNames("EM-Marine hex, ETX, 24-byte limit");
    }

    [TestCaseSource(nameof(Formats))]
    public void A_million_mutated_lines_are_counted_as_bad_without_an_exception_and_with_a_bounded_log(LineReaderOptions options)
    {
        var (transport, _) = LoopbackTransport.CreatePair();
        var time = new ManualTimeProvider();
        var logger = new ListLogger();
        options.BadLineLogInterval = TimeSpan.FromSeconds(30);
        options.DebounceWindow = TimeSpan.Zero;
        var reader = new LineCardReader(transport, ownsTransport: true, "fuzz", options, logger, time);
        var mutator = new FrameMutator(seed: 4321, maxRandomLength: 80);
        var random = new Random(5);
        var valid = new byte[64];
        var output = new byte[mutator.MaxOutputLength(valid.Length)];
        long cardsBefore = 0;

        for (int i = 0; i < Lines; i++)
        {
            ulong card = (ulong)random.Next(0x100_0000);
            int length = LineReaderCodec.FormatLine(card, options, valid);
            int mutated = mutator.Mutate(valid.AsSpan(0, length), output, out _);
            reader.Consume(output.AsSpan(0, mutated));
            if (i % 1000 == 999) reader.DropIncompleteLine(); // what a quiet line does to a partial line
            time.Advance(TimeSpan.FromMilliseconds(1));
            while (reader.CardReads.TryRead(out _)) cardsBefore++;
        }

        // The reader is not wedged: after the noise (and the silence that ends a partial line) a clean card is read.
        reader.DropIncompleteLine();
        int n = LineReaderCodec.FormatLine(8_106_606, options, valid);
        reader.Consume(valid.AsSpan(0, n));
        Assert.That(reader.CardReads.TryRead(out var last), Is.True);
        Assert.That(last.CardNumber, Is.EqualTo(8_106_606UL));

        long maxLogLines = 1 + (long)(TimeSpan.FromMilliseconds(Lines) / options.BadLineLogInterval);
        TestContext.Out.WriteLine($"cards {cardsBefore}, bad lines {reader.BadLineCount}, log lines {reader.BadLines.LogLinesWritten}");
        Assert.Multiple(() =>
        {
            Assert.That(reader.BadLineCount, Is.GreaterThan(Lines / 4));
            Assert.That(reader.BadLines.LogLinesWritten, Is.InRange(1, maxLogLines));
            Assert.That(logger.Count(LogLevel.Warning), Is.EqualTo(reader.BadLines.LogLinesWritten));
            Assert.That(cardsBefore + reader.BadLineCount, Is.GreaterThan(Lines / 2));
        });
    }

    [Test]
    public async Task Garbage_and_cards_mixed_on_the_wire_never_stop_the_read_loop()
    {
        var options = new LineReaderOptions { Prefix = "\u0002", Wiegand26 = Wiegand26Conversion.FromFrame, DebounceWindow = TimeSpan.Zero };
        var (readerEnd, deviceEnd) = LoopbackTransport.CreatePair();
        await using var reader = new LineCardReader(readerEnd, ownsTransport: true, "gate1-in", options, new ListLogger());
        var simulator = new LineReaderSimulator(deviceEnd, options);
        using var stop = new CancellationTokenSource();
        var run = reader.RunAsync(stop.Token);
        var random = new Random(11);

        for (int i = 0; i < 20_000; i++)
        {
            if (i % 2 == 0) await simulator.SendGarbageAsync(random.Next(1, 40), random);
            else await simulator.SendLineAsync("XYZ");
        }
        await simulator.SendRawAsync(Encoding.Latin1.GetBytes("\r\n")); // end whatever garbage is pending
        await simulator.SendCardAsync(8_106_606);

        ulong found = 0;
        await foreach (var read in reader.CardReads.ReadAllAsync())
        {
            found = read.CardNumber;
            if (found == 8_106_606) break; // garbage may decode as other cards first (Wiegand-26 has only two parity bits)
        }
        Assert.That(found, Is.EqualTo(8_106_606UL));
        Assert.That(reader.BadLineCount, Is.GreaterThan(10_000));
        await stop.CancelAsync();
        await run;
        await deviceEnd.DisposeAsync();
    }
}
