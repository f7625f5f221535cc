using System.Runtime.Versioning;
using Kezekshi.Edge.Devices.Transport.Serial;

namespace Kezekshi.Edge.Devices.Transport.Pty;

/// <summary>
/// The master (device) side of a <see cref="PseudoTerminal"/> as a byte transport: what a device
/// simulator writes here, the serial port on the slave reads, and the other way round.
/// </summary>
/// <remarks>
/// Served by the same poll-thread machinery as <see cref="LinuxSerialPort"/>, so simulators exercise
/// the real receive path. <see cref="BaudRate"/> is nominal: ptys deliver bytes at memory speed,
/// so the simulator itself must pace replies if timing matters.
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed class PtyMasterTransport : IByteTransport
{
    private readonly int _fd;
    private readonly FdPump _pump;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private int _disposed;

    internal PtyMasterTransport(int masterFd, string slavePath, int nominalBaudRate, TimeProvider time)
    {
        _fd = masterFd;
        _time = time;
        Name = $"pty-master({slavePath})";
        BaudRate = nominalBaudRate;
        _pump = new FdPump(masterFd, Name, Describe);
        _pump.Start();
    }

    public string Name { get; }

    /// <summary>Nominal line speed, for <see cref="WireTime"/> only.</summary>
    public int BaudRate { get; }

    public bool IsBroken => _pump.IsBroken || Volatile.Read(ref _disposed) != 0;

    /// <summary>Bytes received and not yet read (for tests that must know data arrived without reading it).</summary>
    internal int BytesAvailable => _pump.Inbox.Count;

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _pump.WriteAllAsync(data, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public ValueTask<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _pump.Inbox.ReadAsync(buffer, timeout, _time, cancellationToken);
    }

    public void DiscardInput()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _pump.Discard(() => _ = Libc.tcflush(_fd, Libc.TCIFLUSH));
    }

    /// <summary>Closes the master: the slave side sees a hang-up, as if the adapter were unplugged.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _pump.StopAsync().ConfigureAwait(false);
        await _writeLock.WaitAsync().ConfigureAwait(false); // a write in flight has now failed or finished
        _pump.Close();
        _ = Libc.close(_fd);
        _pump.Inbox.Fail(new ObjectDisposedException(Name));
        _writeLock.Dispose();
    }

    private TransportException Describe(int errno, string operation) => errno == 0
        ? new TransportException($"{Name}: the serial side hung up ({operation}): every slave descriptor was closed.", isTransient: false, 0)
        : new TransportException($"{Name}: {operation} failed: {Libc.Describe(errno)} (errno {errno}); the serial side probably closed.", isTransient: false, errno);
}
