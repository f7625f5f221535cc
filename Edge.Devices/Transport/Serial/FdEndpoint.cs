using System.Runtime.Versioning;

namespace Kezekshi.Edge.Devices.Transport.Serial;

/// <summary>
/// What every file-descriptor transport (a serial port, a pseudo-terminal master) does the same way:
/// one writer at a time, reads from the poll thread's inbox, discarding input, and a shutdown in the
/// one safe order (stop the thread, wait out a write in flight, close). The transports add only what
/// differs: RS-485 direction control, exclusivity, how they describe themselves.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class FdEndpoint(int fd, FdPump pump, TimeProvider time, object owner)
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private int _disposed;

    public int Fd => fd;

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public bool IsBroken => pump.IsBroken || IsDisposed;

    public int BytesAvailable => pump.Inbox.Count;

    /// <summary>Writes under the write lock, with <paramref name="write"/> (e.g. RTS toggling) or a plain write.</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken,
        Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask>? write = null)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, owner);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (write is null) await pump.WriteAllAsync(data, cancellationToken).ConfigureAwait(false);
            else await write(data, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public ValueTask<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, owner);
        return pump.Inbox.ReadAsync(buffer, timeout, time, cancellationToken);
    }

    /// <summary>Drops bytes received and not yet read, in our queue and in the kernel's (tcflush TCIFLUSH).</summary>
    public void DiscardInput()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, owner);
        pump.Discard(() => _ = Libc.tcflush(fd, Libc.TCIFLUSH));
    }

    /// <summary>
    /// Stops the reader thread, waits for a write in flight, runs <paramref name="beforeClose"/> on the still-open
    /// descriptor, closes it and fails pending reads. Returns false if it was already closed.
    /// </summary>
    public async ValueTask<bool> CloseAsync(string name, Action<int>? beforeClose = null)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return false;
        await pump.StopAsync().ConfigureAwait(false);
        await _writeLock.WaitAsync().ConfigureAwait(false); // a write in flight has now failed or finished
        pump.Close();
        beforeClose?.Invoke(fd);
        _ = Libc.close(fd);
        pump.Inbox.Fail(new ObjectDisposedException(name));
        _writeLock.Dispose();
        return true;
    }
}
