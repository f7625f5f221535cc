namespace Kezekshi.Edge.Devices.Transport;

/// <summary>
/// A transport that reports every chunk it reads and writes, with the moment it happened, to an
/// observer. Benchmarks use it on a simulator's end of a pseudo-terminal to time a decision "on the
/// wire": from the last byte of a reader's frame written to the first byte of the relay command read.
/// </summary>
public sealed class TappedTransport(IByteTransport inner, TimeProvider? time = null) : IByteTransport
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Called after a write completed: the bytes, and the timestamp when the last byte was handed over.</summary>
    public Action<ReadOnlyMemory<byte>, long>? AfterWrite { get; set; }

    /// <summary>Called when a read returned bytes: the chunk, and the timestamp when it was returned.</summary>
    public Action<ReadOnlyMemory<byte>, long>? AfterRead { get; set; }

    public string Name => inner.Name;
    public int BaudRate => inner.BaudRate;
    public bool IsBroken => inner.IsBroken;

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await inner.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        AfterWrite?.Invoke(data, _time.GetTimestamp());
    }

    public async ValueTask<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        int n = await inner.ReadAsync(buffer, timeout, cancellationToken).ConfigureAwait(false);
        if (n > 0) AfterRead?.Invoke(buffer[..n], _time.GetTimestamp());
        return n;
    }

    public void DiscardInput() => inner.DiscardInput();

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
