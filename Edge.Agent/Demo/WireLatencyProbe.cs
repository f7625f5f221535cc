using Kezekshi.Edge.Agent.Gate;

namespace Kezekshi.Edge.Agent.Demo;

/// <summary>
/// Times gate decisions on the wire, from the simulators' side of the pseudo-terminals: from the
/// moment the last byte of a reader's osdp_RAW reply was written to the moment the first byte of the
/// relay-closing Modbus request (function 05, value FF00) was read by the relay board.
/// This is everything the agent does — termios, OSDP session, policy, journal, Modbus master — but
/// no wire time, since pseudo-terminals have no line speed; the wire time is computed separately.
/// </summary>
public sealed class WireLatencyProbe
{
    private readonly long[] _lastCardFrame = new long[128];
    private readonly Func<int, byte?> _readerForCoil;
    private readonly TimeProvider _time;
    private readonly long _interFrameGapTicks;
    private long _lastModbusActivity;

    /// <param name="readerForCoil">Maps a relay coil (0-based) to the OSDP address whose grant closes it.</param>
    /// <param name="interFrameGap">The Modbus t3.5 silence at the bus's baud rate.</param>
    /// <param name="time">The clock the transports stamp with.</param>
    public WireLatencyProbe(Func<int, byte?> readerForCoil, TimeSpan interFrameGap, TimeProvider? time = null)
    {
        _readerForCoil = readerForCoil;
        _time = time ?? TimeProvider.System;
        _interFrameGapTicks = (long)(interFrameGap.TotalSeconds * _time.TimestampFrequency);
    }

    /// <summary>
    /// The same latencies less the part the Modbus protocol forced: a request may only start t3.5 after the
    /// last frame on the bus, so time from the card until that moment is waiting the wire would impose too.
    /// </summary>
    public List<double> SoftwareSamples { get; } = [];

    /// <summary>While true, nothing is measured (an emergency re-asserts relays with no card behind them).</summary>
    public bool Paused { get; set; }

    /// <summary>Relay commands that came more than a second after the reader's last card: not that card's command.</summary>
    public long Unmatched => Interlocked.Read(ref _unmatched);
    private long _unmatched;

    /// <summary>Card-to-relay latencies in microseconds.</summary>
    public LatencyHistogram Histogram { get; } = new();

    /// <summary>Every sample, in microseconds (for exact percentiles in the benchmark).</summary>
    public List<double> Samples { get; } = [];

    /// <summary>Raised with each measured latency (µs).</summary>
    public event Action<double>? Measured;

    /// <summary>Attach to the OSDP readers' <c>TappedTransport.AfterWrite</c>.</summary>
    public void OnReaderWrite(ReadOnlyMemory<byte> data, long timestamp)
    {
        var span = data.Span;
        // SOM, address with the reply bit, length, control without a security block, then the reply code.
        if (!Paused && span.Length > 5 && span[0] == 0x53 && (span[1] & 0x80) != 0 && (span[4] & 0x08) == 0 && span[5] == 0x50)
            Volatile.Write(ref _lastCardFrame[span[1] & 0x7F], timestamp);
    }

    /// <summary>Attach to the relay board's <c>TappedTransport.AfterWrite</c> (its replies are bus activity).</summary>
    public void OnRelayBoardWrite(ReadOnlyMemory<byte> data, long timestamp) => Volatile.Write(ref _lastModbusActivity, timestamp);

    /// <summary>Attach to the relay board's <c>TappedTransport.AfterRead</c>.</summary>
    public void OnRelayBoardRead(ReadOnlyMemory<byte> data, long timestamp)
    {
        long previousActivity = Volatile.Read(ref _lastModbusActivity);
        Volatile.Write(ref _lastModbusActivity, timestamp);
        var span = data.Span;
        for (int i = 0; i + 5 < span.Length; i++)
        {
            if (span[i + 1] != 0x05 || span[i + 4] != 0xFF || span[i + 5] != 0x00) continue;
            int coil = (span[i + 2] << 8) | span[i + 3];
            if (_readerForCoil(coil) is not byte address) continue;
            long cardAt = Interlocked.Exchange(ref _lastCardFrame[address], 0);
            if (cardAt == 0 || Paused) continue; // a relay closed without a card (emergency hold, manual pass)
            double us = (timestamp - cardAt) * 1_000_000.0 / _time.TimestampFrequency;
            if (us > 1_000_000)
            {
                Interlocked.Increment(ref _unmatched);
                continue;
            }
            Histogram.Record((long)us);
            long earliestLegalStart = Math.Max(cardAt, previousActivity + _interFrameGapTicks);
            double softwareUs = Math.Max(0, (timestamp - earliestLegalStart) * 1_000_000.0 / _time.TimestampFrequency);
            lock (Samples)
            {
                Samples.Add(us);
                SoftwareSamples.Add(softwareUs);
            }
            Measured?.Invoke(us);
        }
    }
}
