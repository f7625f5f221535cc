namespace Kezekshi.Edge.Devices.Transport;

/// <summary>What a <see cref="LoopbackTransport"/> does to a write on its way to the peer.</summary>
public enum LoopbackFault
{
    /// <summary>Deliver unchanged.</summary>
    None,
    /// <summary>The bytes never arrive (a reader that is unplugged or silent).</summary>
    Drop,
    /// <summary>One byte is flipped (noise on the A/B pair).</summary>
    Corrupt,
    /// <summary>Only the first half arrives (a reader reset mid-frame).</summary>
    Truncate,
}

/// <summary>
/// An in-memory, full-duplex pair of transports with a fault filter. Protocol sessions and their
/// simulators are tested on it for state-machine behaviour (retries, NAKs, offline/online);
/// timing and the serial layer are tested on real pseudo-terminals instead.
/// </summary>
public sealed class LoopbackTransport : IByteTransport
{
    private readonly ByteInbox _inbox = new();
    private readonly TimeProvider _time;
    private LoopbackTransport? _peer;
    private bool _disposed;

    private LoopbackTransport(string name, int baudRate, TimeProvider time)
    {
        Name = name;
        BaudRate = baudRate;
        _time = time;
    }

    /// <summary>Creates two connected ends: what one writes the other reads.</summary>
    public static (LoopbackTransport A, LoopbackTransport B) CreatePair(int baudRate = 9600, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var a = new LoopbackTransport("loopback-a", baudRate, time);
        var b = new LoopbackTransport("loopback-b", baudRate, time);
        a._peer = b;
        b._peer = a;
        return (a, b);
    }

    public string Name { get; }
    public int BaudRate { get; }
    public bool IsBroken => _disposed;

    /// <summary>Decides, per write, what happens to it on the way to the peer. Null means deliver.</summary>
    public Func<ReadOnlyMemory<byte>, LoopbackFault>? FaultFilter { get; set; }

    /// <summary>Bytes written by this end so far, for assertions.</summary>
    public long BytesWritten { get; private set; }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        BytesWritten += data.Length;
        var fault = FaultFilter?.Invoke(data) ?? LoopbackFault.None;
        switch (fault)
        {
            case LoopbackFault.Drop:
                break;
            case LoopbackFault.Corrupt:
                {
                    var copy = data.ToArray();
                    if (copy.Length > 0) copy[copy.Length / 2] ^= 0x5A;
                    _peer!._inbox.Write(copy);
                    break;
                }
            case LoopbackFault.Truncate:
                _peer!._inbox.Write(data.Span[..(data.Length / 2)]);
                break;
            default:
                _peer!._inbox.Write(data.Span);
                break;
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _inbox.ReadAsync(buffer, timeout, _time, cancellationToken);
    }

    public void DiscardInput() => _inbox.Clear();

    public ValueTask DisposeAsync()
    {
        _disposed = true;
        _inbox.Fail(new ObjectDisposedException(Name));
        return ValueTask.CompletedTask;
    }
}
