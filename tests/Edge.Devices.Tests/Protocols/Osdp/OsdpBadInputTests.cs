using System.Diagnostics;
using Kezekshi.Edge.Devices.Cards;
using Kezekshi.Edge.Devices.Protocols.Osdp;
using Kezekshi.Edge.Devices.Transport;

namespace Kezekshi.Edge.Devices.Tests.Protocols.Osdp;

/// <summary>
/// A million random and mutated frames through the codec and through the CP's reply path: nothing escapes,
/// nothing hangs (every parse step makes progress), bad input is counted, and the log stays bounded.
/// </summary>
[Category("Unit")]
public sealed class OsdpBadInputTests
{
    private const int Inputs = 1_000_000;

    private enum Mutation { Random, BitFlip, Truncate, Insert, LengthLie, FlipAndTruncate }

    [Test]
    public async Task A_million_random_and_mutated_frames_are_counted_without_escaping_exceptions_or_flooding_the_log()
    {
        var bases = BuildValidReplies();
        var logger = new CountingLogger();
        var (cpEnd, pdEnd) = LoopbackTransport.CreatePair();
        await using var bus = new OsdpBus(cpEnd, ownsTransport: true, new OsdpBusOptions(), logger);
        await using var _ = pdEnd;
        bus.AddReader(1, "fuzzed");

        var rng = new Random(20261121);
        var buffer = new byte[OsdpFrame.MaxLength + 16];
        var stopwatch = Stopwatch.StartNew();
        long mutated = 0, codecBad = 0, codecMissed = 0, cpMissed = 0, intact = 0;
        var missedBy = new Dictionary<Mutation, int>();

        for (int i = 0; i < Inputs; i++)
        {
            var (template, sequence) = bases[rng.Next(bases.Count)];
            var mutation = (Mutation)rng.Next(6);
            int length = Mutate(rng, mutation, template, buffer);
            var input = buffer.AsSpan(0, length);

            int bad = ParseAll(input, out int ok);
            if (bad > 0) codecBad++;
            if (mutation != Mutation.Random)
            {
                mutated++;
                if (bad == 0)
                {
                    codecMissed++;
                    missedBy[mutation] = missedBy.GetValueOrDefault(mutation) + 1;
                }
            }
            else if (bad == 0 && ok > 0)
            {
                intact++;
            }

            long before = bus.BadInputCount;
            bus.ProcessReplyWindow(1, sequence, input);
            if (bad > 0 && bus.BadInputCount == before) cpMissed++;
        }
        stopwatch.Stop();

        TestContext.Out.WriteLine($"{Inputs} inputs in {stopwatch.Elapsed}; mutated {mutated}, codec missed {codecMissed} ({string.Join(", ", missedBy.Select(kv => $"{kv.Key}: {kv.Value}"))}), CP missed {cpMissed}, bad counted by CP {bus.BadInputCount}, log lines {bus.BadInput.LogLinesWritten}");

        // A mutation can only slip through when its check value happens to match: CRC-16 catches every error of up to
        // 3 bits (Hamming distance 4), the 1-byte checksum misses some 2- and 3-bit flips, and a random LEN has a
        // 1-in-65536 (1-in-256) chance of landing on a matching check. Measured: well under 0.1 %.
        Assert.That(codecMissed, Is.LessThan(mutated / 1000), "mutations not detected by the codec");
        // The CP path counts everything the codec rejects, except bytes after a valid reply (it stops reading there,
        // as the live exchange does) — which only happens when a mutation left a valid prefix.
        Assert.That(cpMissed, Is.LessThan(mutated / 1000), "bad input not counted by the CP reply path");
        Assert.That(bus.BadInputCount, Is.GreaterThanOrEqualTo(codecBad - cpMissed));
        long allowedLines = 2 + (long)(stopwatch.Elapsed.TotalSeconds / 30);
        Assert.That(bus.BadInput.LogLinesWritten, Is.LessThanOrEqualTo(allowedLines), "the bad-frame log is rate limited");
    }

    /// <summary>Parses the whole input as one receive window; returns the number of bad results (a trailing partial frame counts).</summary>
    private static int ParseAll(ReadOnlySpan<byte> input, out int ok)
    {
        int bad = 0;
        ok = 0;
        int offset = 0;
        while (offset < input.Length)
        {
            var result = OsdpFrame.TryParse(input[offset..], out _, out int consumed);
            if (result.Status == OsdpParseStatus.Incomplete)
            {
                bad++;
                break;
            }
            if (consumed <= 0 || consumed > input.Length - offset) Assert.Fail($"parser made no progress ({result.Status}, {result.Error})");
            if (result.Status == OsdpParseStatus.Ok) ok++;
            else bad++;
            offset += consumed;
        }
        return bad;
    }

    private static int Mutate(Random rng, Mutation mutation, byte[] template, byte[] buffer)
    {
        int length = template.Length;
        template.CopyTo(buffer, 0);
        switch (mutation)
        {
            case Mutation.Random:
                length = rng.Next(1, 48);
                rng.NextBytes(buffer.AsSpan(0, length));
                if (rng.Next(2) == 0) buffer[0] = OsdpFrame.StartOfMessage;
                break;
            case Mutation.BitFlip:
                FlipBits(rng, buffer, length);
                break;
            case Mutation.Truncate:
                length = rng.Next(1, length);
                break;
            case Mutation.Insert:
                {
                    int count = rng.Next(1, 4);
                    int at = rng.Next(0, length);
                    buffer.AsSpan(at, length - at).CopyTo(buffer.AsSpan(at + count));
                    rng.NextBytes(buffer.AsSpan(at, count));
                    length += count;
                    break;
                }
            case Mutation.LengthLie:
                {
                    int lie;
                    do { lie = rng.Next(3) == 0 ? rng.Next(0, 65536) : length + rng.Next(-6, 7); } while (lie == length || lie < 0);
                    buffer[2] = (byte)lie;
                    buffer[3] = (byte)(lie >> 8);
                    break;
                }
            case Mutation.FlipAndTruncate:
                FlipBits(rng, buffer, length);
                length = rng.Next(1, length);
                break;
        }
        return length;
    }

    private static void FlipBits(Random rng, byte[] buffer, int length)
    {
        int flips = rng.Next(1, 4);
        int[] positions = new int[flips];
        for (int f = 0; f < flips; f++)
        {
            int bit;
            do { bit = rng.Next(length * 8); } while (Array.IndexOf(positions, bit + 1, 0, f) >= 0);
            positions[f] = bit + 1;
            buffer[bit >> 3] ^= (byte)(1 << (bit & 7));
        }
    }

    private static List<(byte[] Frame, byte Sequence)> BuildValidReplies()
    {
        var list = new List<(byte[], byte)>();
        var payload = new byte[64];
        void Add(byte code, ReadOnlySpan<byte> data, byte sequence, bool crc = true)
        {
            var frame = new byte[OsdpFrame.MaxLength];
            int n = new OsdpFrame(1, isReply: true, sequence, code, data, crc).Write(frame);
            list.Add((frame[..n], sequence));
        }

        for (byte sqn = 0; sqn < 4; sqn++)
        {
            bool crc = sqn != 3; // one in four with the 1-byte checksum
            Add((byte)OsdpReplyCode.Ack, [], sqn, crc);
            Add((byte)OsdpReplyCode.Busy, [], sqn, crc);
            Add((byte)OsdpReplyCode.Nak, [(byte)OsdpNakCode.UnknownCommand], sqn, crc);
            int n = new OsdpPdId(0x0A0B0C, 1, 2, 12345, 1, 0, 7).Write(payload);
            Add((byte)OsdpReplyCode.PdId, payload.AsSpan(0, n), sqn, crc);
            n = new OsdpPdCapabilities([new OsdpCapability(4, 1, 1), new OsdpCapability(5, 1, 1)]).Write(payload);
            Add((byte)OsdpReplyCode.PdCapabilities, payload.AsSpan(0, n), sqn, crc);
            n = new OsdpLocalStatus(false, false).Write(payload);
            Add((byte)OsdpReplyCode.LocalStatus, payload.AsSpan(0, n), sqn, crc);
            var bits = new byte[8];
            int b = OsdpRawCardData.PackBits(Wiegand.Encode26(123, 45678), 26, bits);
            n = new OsdpRawCardData(0, 1, 26, bits[..b]).Write(payload);
            Add((byte)OsdpReplyCode.RawCardData, payload.AsSpan(0, n), sqn, crc);
            n = new OsdpFormattedCardData(0, 0, "8123456"u8).Write(payload);
            Add((byte)OsdpReplyCode.FormattedCardData, payload.AsSpan(0, n), sqn, crc);
            n = new OsdpKeypadData(0, "1234"u8).Write(payload);
            Add((byte)OsdpReplyCode.Keypad, payload.AsSpan(0, n), sqn, crc);
        }
        return list;
    }
}
