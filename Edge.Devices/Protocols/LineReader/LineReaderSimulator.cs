using Kezekshi.Edge.Devices.Transport;

namespace Kezekshi.Edge.Devices.Protocols.LineReader;

/// <summary>
/// Plays a line-oriented card reader on a transport: prints card numbers as the configured reader would
/// (prefix, hex or decimal digits, terminator), and garbage on demand, for tests and benchmarks.
/// </summary>
public sealed class LineReaderSimulator
{
    private readonly IByteTransport _transport;
    private readonly LineReaderOptions _options;
    private readonly byte[] _line;

    /// <summary>Creates a simulator writing to <paramref name="transport"/> in the format of <paramref name="options"/>.</summary>
    public LineReaderSimulator(IByteTransport transport, LineReaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _transport = transport;
        _options = options;
        _line = new byte[options.Prefix.Length + options.Terminator.Length + 32];
    }

    /// <summary>Bits 24–39 of the EM-Marine ID printed with <see cref="Wiegand26Conversion.FromEmMarine"/> (version byte and ID high byte).</summary>
    public ushort EmMarineHigh { get; set; } = 0x0100;

    /// <summary>Prints the line for <paramref name="canonical"/>.</summary>
    public ValueTask SendCardAsync(ulong canonical, CancellationToken cancellationToken = default)
    {
        int n = LineReaderCodec.FormatLine(canonical, _options, _line, EmMarineHigh);
        return _transport.WriteAsync(_line.AsMemory(0, n), cancellationToken);
    }

    /// <summary>Prints <paramref name="text"/> between the prefix and the terminator (e.g. bad digits).</summary>
    public ValueTask SendLineAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        string line = _options.Prefix + text + _options.Terminator;
        return _transport.WriteAsync(line.Select(c => (byte)c).ToArray(), cancellationToken);
    }

    /// <summary>Writes bytes as they are.</summary>
    public ValueTask SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default) =>
        _transport.WriteAsync(bytes, cancellationToken);

    /// <summary>Writes <paramref name="length"/> random bytes (line noise, a wrong baud rate).</summary>
    public ValueTask SendGarbageAsync(int length, Random random, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(random);
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return _transport.WriteAsync(bytes, cancellationToken);
    }
}
