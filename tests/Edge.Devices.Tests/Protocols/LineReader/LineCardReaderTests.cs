using System.Text;
using Kezekshi.Edge.Devices.Cards;
using Kezekshi.Edge.Devices.Protocols.LineReader;
using Kezekshi.Edge.Devices.Tests.TestSupport;
using Kezekshi.Edge.Devices.Transport;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Tests.Protocols.LineReader;

[Category("Unit")]
public sealed class LineCardReaderTests
{
    private const ulong KnownCard = 8_106_606; // facility 123, number 45678

    private static (LineCardReader Reader, ManualTimeProvider Time, ListLogger Logger) Create(LineReaderOptions? options = null)
    {
        var (transport, _) = LoopbackTransport.CreatePair();
        var time = new ManualTimeProvider();
        var logger = new ListLogger();
        return (new LineCardReader(transport, ownsTransport: true, "gate1-in", options ?? new LineReaderOptions(), logger, time), time, logger);
    }

    private static List<CardRead> Drain(LineCardReader reader)
    {
        var reads = new List<CardRead>();
        while (reader.CardReads.TryRead(out var read)) reads.Add(read);
        return reads;
    }

    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    [Test]
    public async Task A_card_printed_by_the_simulator_arrives_on_the_channel_with_the_terminator_timestamp()
    {
        var options = new LineReaderOptions { Prefix = "\u0002", Wiegand26 = Wiegand26Conversion.FromFrame };
        var (readerEnd, deviceEnd) = LoopbackTransport.CreatePair();
        await using var reader = new LineCardReader(readerEnd, ownsTransport: true, "gate1-in", options, new ListLogger());
        var simulator = new LineReaderSimulator(deviceEnd, options);
        using var stop = new CancellationTokenSource();
        var run = reader.RunAsync(stop.Token);
        long before = TimeProvider.System.GetTimestamp();

        await simulator.SendCardAsync(KnownCard);
        var read = await reader.CardReads.ReadAsync();

        Assert.That(read.ReaderId, Is.EqualTo("gate1-in"));
        Assert.That(read.CardNumber, Is.EqualTo(KnownCard));
        Assert.That(Wiegand.FormatFacilityNumber(read.CardNumber), Is.EqualTo("123,45678"));
        Assert.That(read.BitCount, Is.EqualTo(26));
        Assert.That(read.ReceivedTimestamp, Is.GreaterThanOrEqualTo(before));

        await stop.CancelAsync();
        await run;
        Assert.That(reader.CardReads.Completion.IsCompleted, Is.True, "cancelling completes the channel");
        await deviceEnd.DisposeAsync();
    }

    // Readable names: control characters in test names defeat `dotnet test --filter`.
    [TestCase("\r\n", "", TestName = "{m}(CR LF)")]
    [TestCase("\r", "", TestName = "{m}(CR)")]
    [TestCase("\n", "", TestName = "{m}(LF)")]
    [TestCase("\u0003", "\u0002", TestName = "{m}(STX … ETX)")]
    public void Each_terminator_ends_a_line(string terminator, string prefix)
    {
        var (reader, _, _) = Create(new LineReaderOptions { Terminator = terminator, Prefix = prefix });

        reader.Consume(Bytes(prefix + "0A1B" + terminator + prefix + "0C2D" + terminator));

        Assert.That(Drain(reader).Select(r => r.CardNumber), Is.EqualTo(new ulong[] { 0x0A1B, 0x0C2D }));
        Assert.That(reader.BadLineCount, Is.Zero);
    }

    [Test]
    public void A_reader_sending_crlf_works_with_a_cr_terminator()
    {
        var (reader, _, _) = Create(new LineReaderOptions { Terminator = "\r" });

        reader.Consume(Bytes("0A1B\r\n0C2D\r\n"));

        Assert.That(Drain(reader).Select(r => r.CardNumber), Is.EqualTo(new ulong[] { 0x0A1B, 0x0C2D }));
        Assert.That(reader.BadLineCount, Is.Zero);
    }

    [Test]
    public void A_line_and_its_terminator_split_across_reads_are_joined()
    {
        var (reader, time, _) = Create();

        reader.Consume(Bytes("0A"));
        reader.Consume(Bytes("1B\r"));
        time.Advance(TimeSpan.FromMilliseconds(3));
        reader.Consume(Bytes("\n"));

        var reads = Drain(reader);
        Assert.That(reads.Select(r => r.CardNumber), Is.EqualTo(new ulong[] { 0x0A1B }));
        Assert.That(reads[0].ReceivedTimestamp, Is.EqualTo(time.GetTimestamp()), "stamped when the terminator arrived");
    }

    [Test]
    public void The_same_card_within_the_debounce_window_is_ignored_and_a_different_card_is_not()
    {
        var (reader, time, _) = Create(new LineReaderOptions { DebounceWindow = TimeSpan.FromSeconds(1.5) });

        reader.Consume(Bytes("0A1B\r\n"));                     // t = 0: read
        time.Advance(TimeSpan.FromSeconds(1));
        reader.Consume(Bytes("0A1B\r\n"));                     // t = 1.0: repeat, ignored
        reader.Consume(Bytes("0C2D\r\n"));                     // t = 1.0: another card, read
        time.Advance(TimeSpan.FromSeconds(1));
        reader.Consume(Bytes("0A1B\r\n"));                     // t = 2.0: 0C2D came in between, so 0A1B counts again
        time.Advance(TimeSpan.FromSeconds(1.6));
        reader.Consume(Bytes("0A1B\r\n"));                     // t = 3.6: 1.6 s after its last sighting: read

        Assert.That(Drain(reader).Select(r => r.CardNumber), Is.EqualTo(new ulong[] { 0x0A1B, 0x0C2D, 0x0A1B, 0x0A1B }));
        Assert.That(reader.DuplicatesIgnored, Is.EqualTo(1));
    }

    [Test]
    public void A_card_held_on_the_reader_counts_once_because_the_window_restarts_at_each_sighting()
    {
        var (reader, time, _) = Create(new LineReaderOptions { DebounceWindow = TimeSpan.FromSeconds(1.5) });

        for (int i = 0; i < 10; i++)
        {
            reader.Consume(Bytes("0A1B\r\n"));
            time.Advance(TimeSpan.FromSeconds(1)); // the reader repeats every second for 10 s
        }

        Assert.That(Drain(reader), Has.Count.EqualTo(1));
        Assert.That(reader.DuplicatesIgnored, Is.EqualTo(9));
    }

    [Test]
    public void A_zero_debounce_window_passes_every_read()
    {
        var (reader, _, _) = Create(new LineReaderOptions { DebounceWindow = TimeSpan.Zero });
        reader.Consume(Bytes("0A1B\r\n0A1B\r\n"));
        Assert.That(Drain(reader), Has.Count.EqualTo(2));
    }

    [Test]
    public void An_over_long_line_without_terminator_is_counted_once_and_the_next_line_is_read()
    {
        var (reader, _, logger) = Create(new LineReaderOptions { MaxLineLength = 32 });

        for (int i = 0; i < 50; i++) reader.Consume(Bytes("0123456789")); // 500 bytes, no terminator
        reader.Consume(Bytes("\r\n0A1B\r\n"));

        Assert.That(reader.BadLineCount, Is.EqualTo(1));
        Assert.That(logger.Entries.Single(e => e.EventId.Id == 1001).Message, Does.Contain("longer than 32 bytes"));
        Assert.That(Drain(reader).Select(r => r.CardNumber), Is.EqualTo(new ulong[] { 0x0A1B }));
    }

    [Test]
    public void An_over_long_line_arriving_with_its_terminator_in_one_read_is_rejected()
    {
        var (reader, _, _) = Create(new LineReaderOptions { MaxLineLength = 8 });
        reader.Consume(Bytes("000000000A1B\r\n0A1B\r\n"));
        Assert.That(reader.BadLineCount, Is.EqualTo(1));
        Assert.That(Drain(reader).Select(r => r.CardNumber), Is.EqualTo(new ulong[] { 0x0A1B }));
    }

    [Test]
    public void Malformed_lines_are_counted_never_thrown_and_logged_at_a_bounded_rate()
    {
        var (reader, time, logger) = Create(new LineReaderOptions { Prefix = "\u0002", Wiegand26 = Wiegand26Conversion.FromFrame, BadLineLogInterval = TimeSpan.FromSeconds(30) });

        reader.Consume(Bytes("\u0002ZZZ\r\n"));         // bad digits
        reader.Consume(Bytes("2F764DD\r\n"));            // missing prefix
        reader.Consume(Bytes("\u00022F764DC\r\n"));      // parity error
        time.Advance(TimeSpan.FromSeconds(31));
        reader.Consume(Bytes("\u00024000000\r\n"));      // wider than 26 bits
        reader.Consume(Bytes("\u00022F764DD\r\n"));      // good

        Assert.That(reader.BadLineCount, Is.EqualTo(4));
        Assert.That(reader.BadLines.LogLinesWritten, Is.EqualTo(2), "one line, then one more after the interval");
        Assert.That(logger.Count(LogLevel.Warning), Is.EqualTo(2));
        Assert.That(Drain(reader).Select(r => r.CardNumber), Is.EqualTo(new[] { KnownCard }));
    }

    [Test]
    public async Task A_partial_line_that_stops_arriving_is_dropped_and_does_not_glue_to_the_next_card()
    {
        var options = new LineReaderOptions { IncompleteLineTimeout = TimeSpan.FromMilliseconds(30) };
        var (readerEnd, deviceEnd) = LoopbackTransport.CreatePair();
        await using var reader = new LineCardReader(readerEnd, ownsTransport: true, "gate1-in", options, new ListLogger());
        var simulator = new LineReaderSimulator(deviceEnd, options);
        using var stop = new CancellationTokenSource();
        var run = reader.RunAsync(stop.Token);

        await simulator.SendRawAsync(Bytes("12"));
        while (reader.BadLineCount == 0) await Task.Delay(10); // the reader's own timeout drops it
        await simulator.SendCardAsync(0x0A1B);

        Assert.That((await reader.CardReads.ReadAsync()).CardNumber, Is.EqualTo(0x0A1BUL));
        await stop.CancelAsync();
        await run;
        await deviceEnd.DisposeAsync();
    }

    [Test]
    public async Task A_transport_failure_ends_RunAsync_and_completes_the_channel_with_the_error()
    {
        var (readerEnd, deviceEnd) = LoopbackTransport.CreatePair();
        await using var reader = new LineCardReader(readerEnd, ownsTransport: false, "gate1-in", new LineReaderOptions(), new ListLogger());
        var run = reader.RunAsync(CancellationToken.None);

        await readerEnd.DisposeAsync();

        Assert.That(async () => await run, Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(async () => await reader.CardReads.Completion, Throws.InstanceOf<ObjectDisposedException>());
        await deviceEnd.DisposeAsync();
    }

    [Test]
    public void When_nobody_consumes_reads_the_oldest_is_dropped_with_a_warning()
    {
        var (reader, _, logger) = Create(new LineReaderOptions { ChannelCapacity = 2, DebounceWindow = TimeSpan.Zero });

        reader.Consume(Bytes("1\r\n2\r\n3\r\n"));

        Assert.That(Drain(reader).Select(r => r.CardNumber), Is.EqualTo(new ulong[] { 2, 3 }));
        Assert.That(logger.CountEvent(1303), Is.EqualTo(1));
    }

    [Test]
    public void Options_that_cannot_work_are_refused_at_construction()
    {
        var (transport, _) = LoopbackTransport.CreatePair();
        Assert.Throws<ArgumentException>(() => new LineCardReader(transport, false, "r", new LineReaderOptions { Terminator = "" }, new ListLogger()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LineCardReader(transport, false, "r", new LineReaderOptions { MaxLineLength = 0 }, new ListLogger()));
    }
}
