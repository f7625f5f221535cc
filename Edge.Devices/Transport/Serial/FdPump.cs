using System.Runtime.InteropServices;

namespace Kezekshi.Edge.Devices.Transport.Serial;

/// <summary>
/// The I/O engine under every Linux file-descriptor transport (serial port, pseudo-terminal master):
/// one dedicated thread per descriptor that <c>poll()</c>s it together with an eventfd, reads what
/// arrives into a reusable buffer and queues it in a <see cref="ByteInbox"/>; writes are
/// non-blocking, and when the kernel's output queue is full they await the same thread's POLLOUT.
/// </summary>
/// <remarks>
/// A thread per port (not the thread pool) because <c>poll()</c> blocks; the eventfd lets
/// <see cref="StopAsync"/> wake it at once instead of after a poll timeout. The pump never closes
/// the port descriptor: its owner closes it after <see cref="StopAsync"/> completed, so the thread
/// can never poll a descriptor number that was closed and reused.
/// </remarks>
internal sealed class FdPump
{
    private const int ReadBufferSize = 4096;

    private readonly int _fd;
    private readonly int _wakeFd;
    private readonly string _name;
    private readonly Func<int, string, TransportException> _describeFailure;
    private readonly Action<TransportException>? _onBroken;
    private readonly Thread _thread;
    private readonly object _readLock = new();
    private readonly object _writeGate = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource? _writable;
    private Exception? _writeFault;
    private volatile bool _stopping;
    private int _broken;
    private int _wakeClosed;

    /// <param name="fd">The non-blocking descriptor to serve; not owned.</param>
    /// <param name="name">Thread and log name.</param>
    /// <param name="describeFailure">
    /// Builds the exception for a failure: (errno, operation); errno 0 means hang-up or end of file
    /// (adapter unplugged, other end of the pty closed).
    /// </param>
    /// <param name="onBroken">Called once, on the pump thread, when the descriptor failed.</param>
    public FdPump(int fd, string name, Func<int, string, TransportException> describeFailure, Action<TransportException>? onBroken = null)
    {
        _fd = fd;
        _name = name;
        _describeFailure = describeFailure;
        _onBroken = onBroken;
        _wakeFd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_wakeFd < 0)
        {
            int errno = Libc.LastErrno;
            throw new TransportException($"{name}: could not create the eventfd that stops its reader thread: {Libc.Describe(errno)}. The process may be out of file descriptors (check `ulimit -n`).", isTransient: true, errno);
        }
        _thread = new Thread(Run) { IsBackground = true, Name = "fd-pump " + name };
    }

    /// <summary>Received bytes, in order; failed with the transport's exception when the descriptor breaks.</summary>
    public ByteInbox Inbox { get; } = new();

    /// <summary>True once a read, poll or write failed or the other side hung up.</summary>
    public bool IsBroken => Volatile.Read(ref _broken) != 0;

    public void Start() => _thread.Start();

    /// <summary>Stops the thread and waits (asynchronously) until it exited; pending write waits fail with <see cref="ObjectDisposedException"/>.</summary>
    public async ValueTask StopAsync()
    {
        _stopping = true;
        FailWriters(new ObjectDisposedException(_name));
        Wake();
        if (_thread.ThreadState != ThreadState.Unstarted)
            await _stopped.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// Closes the eventfd. Call after <see cref="StopAsync"/> and once no writer can be inside
    /// <see cref="WriteAllAsync"/> (the owner holds its write lock), because writers wake the thread through it.
    /// </summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _wakeClosed, 1) == 0)
            _ = Libc.close(_wakeFd);
    }

    /// <summary>Drops received bytes: runs <paramref name="flushKernel"/> (tcflush) and clears the inbox with no read in between.</summary>
    public void Discard(Action flushKernel)
    {
        lock (_readLock)
        {
            flushKernel();
            Inbox.Clear();
        }
    }

    /// <summary>Writes every byte, awaiting POLLOUT when the kernel's output queue is full. One writer at a time.</summary>
    public async ValueTask WriteAllAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (data.Length > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ThrowIfUnusable();
            nint written = WriteOnce(data.Span, out int errno);
            if (written > 0)
            {
                data = data[(int)written..];
                continue;
            }
            if (errno == Libc.EINTR) continue;
            if (errno == Libc.EAGAIN || written == 0)
            {
                await WaitWritableAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }
            var failure = _describeFailure(errno, "write");
            MarkBroken(failure);
            throw failure;
        }
    }

    private unsafe nint WriteOnce(ReadOnlySpan<byte> data, out int errno)
    {
        fixed (byte* p = data)
        {
            nint n = Libc.write(_fd, p, (nuint)data.Length);
            errno = n < 0 ? Libc.LastErrno : 0;
            return n;
        }
    }

    private void ThrowIfUnusable()
    {
        lock (_writeGate)
        {
            if (_writeFault is not null) throw _writeFault;
        }
    }

    private Task WaitWritableAsync(CancellationToken cancellationToken)
    {
        Task task;
        lock (_writeGate)
        {
            if (_writeFault is not null) throw _writeFault;
            _writable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            task = _writable.Task;
        }
        Wake(); // the poll thread adds POLLOUT on its next round
        return task.WaitAsync(cancellationToken);
    }

    private void FailWriters(Exception fault)
    {
        TaskCompletionSource? waiter;
        lock (_writeGate)
        {
            _writeFault ??= fault;
            waiter = _writable;
            _writable = null;
        }
        waiter?.TrySetException(fault);
    }

    private unsafe void Wake()
    {
        if (Volatile.Read(ref _wakeClosed) != 0) return;
        ulong one = 1;
        _ = Libc.write(_wakeFd, (byte*)&one, sizeof(ulong)); // EAGAIN only if already signalled 2^64-2 times: still awake
    }

    private void MarkBroken(TransportException failure)
    {
        if (Interlocked.Exchange(ref _broken, 1) != 0) return;
        FailWriters(failure);
        Inbox.Fail(failure);
        _onBroken?.Invoke(failure);
    }

    private unsafe void Run()
    {
        byte[] buffer = GC.AllocateArray<byte>(ReadBufferSize, pinned: true);
        PollFd* fds = stackalloc PollFd[2];
        try
        {
            fixed (byte* bufferPointer = buffer)
            {
                while (!_stopping && !IsBroken)
                {
                    bool wantWrite;
                    lock (_writeGate) wantWrite = _writable is not null;
                    fds[0] = new PollFd { fd = _fd, events = (short)(Libc.POLLIN | (wantWrite ? Libc.POLLOUT : 0)) };
                    fds[1] = new PollFd { fd = _wakeFd, events = Libc.POLLIN };
                    int ready = Libc.poll(fds, 2, -1);
                    if (ready < 0)
                    {
                        int errno = Libc.LastErrno;
                        if (errno == Libc.EINTR) continue;
                        MarkBroken(_describeFailure(errno, "poll"));
                        break;
                    }
                    if (fds[1].revents != 0)
                    {
                        ulong drained;
                        _ = Libc.read(_wakeFd, (byte*)&drained, sizeof(ulong));
                    }
                    if (_stopping) break;

                    short revents = fds[0].revents;
                    if ((revents & Libc.POLLOUT) != 0)
                    {
                        TaskCompletionSource? waiter;
                        lock (_writeGate) { waiter = _writable; _writable = null; }
                        waiter?.TrySetResult();
                    }
                    if ((revents & Libc.POLLIN) != 0)
                    {
                        ReadOnce(bufferPointer, hangUpReported: (revents & Libc.POLLHUP) != 0);
                    }
                    else if ((revents & (Libc.POLLHUP | Libc.POLLERR | Libc.POLLNVAL)) != 0)
                    {
                        MarkBroken(_describeFailure(0, "poll"));
                    }
                }
            }
        }
        catch (Exception ex)
        {
            // A bug here must not leave readers waiting forever: surface it as a broken transport.
            MarkBroken(new TransportException($"{_name}: reader thread failed: {ex.Message}", ex));
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private unsafe void ReadOnce(byte* buffer, bool hangUpReported)
    {
        lock (_readLock)
        {
            nint n = Libc.read(_fd, buffer, ReadBufferSize);
            if (n > 0)
            {
                Inbox.Write(new ReadOnlySpan<byte>(buffer, (int)n));
                return;
            }
            if (n == 0)
            {
                // With VMIN = VTIME = 0 a tty read returns 0 (not EAGAIN) when the data poll saw has not reached
                // the line discipline yet, so 0 alone is not a hang-up. A hang-up (pty master closed, USB adapter
                // gone) comes with POLLHUP, or as EIO from read.
                if (hangUpReported) MarkBroken(_describeFailure(0, "read"));
                return;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno is Libc.EAGAIN or Libc.EINTR) return;
            MarkBroken(_describeFailure(errno, "read"));
        }
    }
}
