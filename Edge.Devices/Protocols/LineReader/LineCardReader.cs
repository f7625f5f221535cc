using System.Globalization;
using System.Threading.Channels;
using Kezekshi.Edge.Devices.Cards;
using Kezekshi.Edge.Devices.Diagnostics;
using Kezekshi.Edge.Devices.Transport;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Protocols.LineReader;

/// <summary>
/// A USB-serial EM-Marine or Mifare reader that prints one card number per line: splits the byte stream
/// into lines, parses them with <see cref="LineReaderCodec"/>, debounces repeats and publishes
/// <see cref="CardRead"/>s on <see cref="CardReads"/>.
/// </summary>
/// <remarks>
/// <para>Bytes are read into one fixed buffer and lines are cut in place: no allocation per byte or per
/// good line. <see cref="CardRead.ReceivedTimestamp"/> is taken when the read that delivered the
/// terminator returned.</para>
/// <para>Malformed input (wrong prefix, bad digits, parity errors, lines over
/// <see cref="LineReaderOptions.MaxLineLength"/>, partial lines that stop arriving) is counted by a
/// <see cref="BadInputCounter"/> and logged at a bounded rate, never thrown. Transport failures end
/// <see cref="RunAsync"/> and complete <see cref="CardReads"/> with the exception; create a new reader after
/// reopening the port.</para>
/// </remarks>
public sealed class LineCardReader : IAsyncDisposable
{
    private static readonly TimeSpan IdleWait = TimeSpan.FromSeconds(5);

    private readonly IByteTransport _transport;
    private readonly bool _ownsTransport;
    private readonly string _readerId;
    private readonly LineReaderOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<CardRead> _channel;
    private readonly BadInputCounter _badLines;
    private readonly byte[] _terminator;
    private readonly byte[] _buffer;
    private readonly long _debounceTicks;
    private int _count;
    private bool _skippingOverlong;
    private bool _hasLastCard;
    private ulong _lastCard;
    private long _lastSeen;
    private int _running;

    /// <summary>Creates a reader named <paramref name="readerId"/> (as the gate configuration names it) on <paramref name="transport"/>.</summary>
    public LineCardReader(IByteTransport transport, bool ownsTransport, string readerId, LineReaderOptions options, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentException.ThrowIfNullOrWhiteSpace(readerId);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _transport = transport;
        _ownsTransport = ownsTransport;
        _readerId = readerId;
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _terminator = options.Terminator.Select(c => (byte)c).ToArray();
        _buffer = new byte[(2 * (options.MaxLineLength + _terminator.Length)) + 256];
        _debounceTicks = (long)(options.DebounceWindow.TotalSeconds * _time.TimestampFrequency);
        _badLines = new BadInputCounter(logger, $"card reader {readerId} on {transport.Name}", options.BadLineLogInterval, _time);
        _channel = Channel.CreateBounded<CardRead>(
            new BoundedChannelOptions(options.ChannelCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = true },
            dropped => DeviceLog.LineReaderReadDropped(_logger, _readerId, dropped.CardNumber));
    }

    /// <summary>Card reads, debounced, in arrival order.</summary>
    public ChannelReader<CardRead> CardReads => _channel.Reader;

    /// <summary>The reader's name.</summary>
    public string ReaderId => _readerId;

    /// <summary>Cards published so far.</summary>
    public long CardsRead { get; private set; }

    /// <summary>Repeats ignored by the debounce window.</summary>
    public long DuplicatesIgnored { get; private set; }

    /// <summary>Malformed lines seen so far.</summary>
    public long BadLineCount => _badLines.Total;

    internal BadInputCounter BadLines => _badLines;

    /// <summary>Reads until cancelled (then completes <see cref="CardReads"/>) or until the transport fails
    /// (then completes it with the error and rethrows).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _running, 1) != 0) throw new InvalidOperationException("RunAsync was already started for this reader.");
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                bool partial = _count > 0 || _skippingOverlong;
                int n = await _transport.ReadAsync(_buffer.AsMemory(_count), partial ? _options.IncompleteLineTimeout : IdleWait, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    if (partial) DropIncompleteLine();
                    continue;
                }
                ProcessReceived(n, _time.GetTimestamp());
            }
            _channel.Writer.TryComplete();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _channel.Writer.TryComplete();
            DeviceLog.LineReaderStopped(_logger, _readerId, "cancelled");
        }
        catch (Exception ex)
        {
            _channel.Writer.TryComplete(ex);
            DeviceLog.LineReaderStopped(_logger, _readerId, ex.Message);
            throw;
        }
    }

    /// <summary>Disposes the transport if this reader owns it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_ownsTransport) await _transport.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Feeds bytes as if the transport had delivered them (the same path <see cref="RunAsync"/> takes).</summary>
    internal void Consume(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            int n = Math.Min(bytes.Length, _buffer.Length - _count);
            bytes[..n].CopyTo(_buffer.AsSpan(_count));
            bytes = bytes[n..];
            ProcessReceived(n, _time.GetTimestamp());
        }
    }

    /// <summary>What <see cref="RunAsync"/> does when a partial line stops arriving.</summary>
    internal void DropIncompleteLine()
    {
        if (_count > 0 && !_skippingOverlong)
        {
            _badLines.Record(string.Create(CultureInfo.InvariantCulture,
                $"incomplete line, no terminator within {_options.IncompleteLineTimeout.TotalMilliseconds} ms: {LineReaderCodec.Printable(_buffer.AsSpan(0, _count))}"));
        }
        _count = 0;
        _skippingOverlong = false;
    }

    /// <summary>Processes <paramref name="received"/> new bytes at the end of the buffer.</summary>
    private void ProcessReceived(int received, long timestamp)
    {
        int scanFrom = Math.Max(0, _count - (_terminator.Length - 1));
        _count += received;
        int lineStart = 0;
        while (true)
        {
            int found = _buffer.AsSpan(scanFrom, _count - scanFrom).IndexOf(_terminator);
            if (found < 0) break;
            int end = scanFrom + found;
            if (_skippingOverlong)
            {
                _skippingOverlong = false; // the over-long line ends here; it was counted when it overflowed
            }
            else
            {
                HandleLine(_buffer.AsSpan(lineStart, end - lineStart), timestamp);
            }
            lineStart = end + _terminator.Length;
            scanFrom = lineStart;
        }

        int pending = _count - lineStart;
        int keep = _terminator.Length - 1; // a terminator may be split across reads
        if (!_skippingOverlong && pending > _options.MaxLineLength + keep)
        {
            _badLines.Record(string.Create(CultureInfo.InvariantCulture, $"line longer than {_options.MaxLineLength} bytes without a terminator: {LineReaderCodec.Printable(_buffer.AsSpan(lineStart, pending))}"));
            _skippingOverlong = true;
        }
        if (_skippingOverlong && pending > keep)
        {
            lineStart = _count - keep;
            pending = keep;
        }
        if (lineStart > 0)
        {
            _buffer.AsSpan(lineStart, pending).CopyTo(_buffer);
        }
        _count = pending;
    }

    private void HandleLine(ReadOnlySpan<byte> line, long timestamp)
    {
        if (line.Trim(" \t\r\n"u8).IsEmpty) return; // blank lines (e.g. "\r\n" after a "\r" terminator) carry nothing
        if (line.Length > _options.MaxLineLength)
        {
            _badLines.Record(string.Create(CultureInfo.InvariantCulture, $"line of {line.Length} bytes is longer than {_options.MaxLineLength}: {LineReaderCodec.Printable(line)}"));
            return;
        }
        if (!LineReaderCodec.TryParseLine(line, _options, out ulong card, out int bits, out string? error))
        {
            _badLines.Record(error!);
            return;
        }
        bool repeat = _hasLastCard && card == _lastCard && timestamp - _lastSeen < _debounceTicks;
        _hasLastCard = true;
        _lastCard = card;
        _lastSeen = timestamp;
        if (repeat)
        {
            DuplicatesIgnored++;
            DeviceLog.LineReaderDuplicate(_logger, _readerId, card);
            return;
        }
        CardsRead++;
        DeviceLog.LineReaderCard(_logger, _readerId, card);
        _channel.Writer.TryWrite(new CardRead(_readerId, card, bits, timestamp));
    }
}
