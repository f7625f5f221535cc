namespace Kezekshi.Edge.Devices.Transport;

/// <summary>
/// A thread-safe queue of received bytes with an async "wait for data" that honours a timeout.
/// Producers are an I/O thread (serial port, pseudo-terminal) or a loopback peer; the consumer
/// is one reader at a time.
/// </summary>
internal sealed class ByteInbox
{
    private readonly object _gate = new();
    private byte[] _buffer;
    private int _start;
    private int _count;
    private TaskCompletionSource? _dataArrived;
    private Exception? _fault;

    /// <summary>
    /// Most bytes kept unread. A device that streams while nobody reads (a reader on the wrong baud rate
    /// spewing noise, a session being reopened) must not grow memory without bound: past this the oldest
    /// bytes are dropped, which the protocol layer then sees as a garbled frame and counts.
    /// </summary>
    public const int MaxUnread = 1 << 20;

    public ByteInbox(int capacity = 4096) => _buffer = new byte[capacity];

    public int Count { get { lock (_gate) return _count; } }

    /// <summary>Bytes dropped because more than <see cref="MaxUnread"/> were waiting.</summary>
    public long Dropped { get { lock (_gate) return _dropped; } }
    private long _dropped;

    public void Write(ReadOnlySpan<byte> data)
    {
        TaskCompletionSource? toSignal;
        lock (_gate)
        {
            if (data.Length > MaxUnread)
            {
                _dropped += data.Length - MaxUnread;
                data = data[^MaxUnread..];
            }
            if (_count + data.Length > MaxUnread)
            {
                int excess = _count + data.Length - MaxUnread;
                _start = (_start + excess) % _buffer.Length;
                _count -= excess;
                _dropped += excess;
            }
            EnsureCapacity(_count + data.Length);
            int end = (_start + _count) % _buffer.Length;
            int first = Math.Min(data.Length, _buffer.Length - end);
            data[..first].CopyTo(_buffer.AsSpan(end));
            data[first..].CopyTo(_buffer);
            _count += data.Length;
            toSignal = _dataArrived;
            _dataArrived = null;
        }
        toSignal?.TrySetResult();
    }

    /// <summary>Makes every pending and future read fail with <paramref name="fault"/> once the queue is empty.</summary>
    public void Fail(Exception fault)
    {
        TaskCompletionSource? toSignal;
        lock (_gate)
        {
            _fault = fault;
            toSignal = _dataArrived;
            _dataArrived = null;
        }
        toSignal?.TrySetResult();
    }

    public void Clear()
    {
        lock (_gate) { _start = 0; _count = 0; }
    }

    public async ValueTask<int> ReadAsync(Memory<byte> destination, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        if (destination.Length == 0) return 0;
        long deadline = time.GetTimestamp() + (long)(timeout.TotalSeconds * time.TimestampFrequency);
        while (true)
        {
            Task waitFor;
            lock (_gate)
            {
                if (_count > 0) return Take(destination.Span);
                if (_fault is not null) throw _fault;
                _dataArrived ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                waitFor = _dataArrived.Task;
            }
            var remaining = TimeSpan.FromSeconds((double)(deadline - time.GetTimestamp()) / time.TimestampFrequency);
            if (remaining <= TimeSpan.Zero) return 0;
            try
            {
                await waitFor.WaitAsync(remaining, time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Timers may fire up to a millisecond early; a frame-end silence (Modbus t3.5 is 1.75 ms) cut short
                // would split a frame, so only a deadline that really passed counts. Then: 0 is a result, not an error.
                lock (_gate) { if (_count > 0) return Take(destination.Span); }
                if (time.GetTimestamp() < deadline) continue;
                return 0;
            }
        }
    }

    private int Take(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, _count);
        int first = Math.Min(n, _buffer.Length - _start);
        _buffer.AsSpan(_start, first).CopyTo(destination);
        _buffer.AsSpan(0, n - first).CopyTo(destination[first..]);
        _start = (_start + n) % _buffer.Length;
        _count -= n;
        if (_count == 0) _start = 0;
        return n;
    }

    private void EnsureCapacity(int needed)
    {
        if (needed <= _buffer.Length) return;
        int size = _buffer.Length;
        while (size < needed) size *= 2;
        var grown = new byte[size];
        int first = Math.Min(_count, _buffer.Length - _start);
        _buffer.AsSpan(_start, first).CopyTo(grown);
        _buffer.AsSpan(0, _count - first).CopyTo(grown.AsSpan(first));
        _buffer = grown;
        _start = 0;
    }
}
