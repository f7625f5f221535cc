namespace Kezekshi.Edge.Devices.Protocols.ModbusRtu;

/// <summary>
/// An async lock over the half-duplex bus with two FIFO queues: on release the bus goes to the oldest
/// urgent waiter, else to the oldest normal one. Cancelled waiters leave their queue.
/// </summary>
internal sealed class BusArbiter
{
    private readonly object _gate = new();
    private readonly Queue<Waiter> _urgent = new();
    private readonly Queue<Waiter> _normal = new();
    private bool _busy;

    /// <summary>Requests waiting for the bus (not counting the one holding it).</summary>
    public int Waiting { get { lock (_gate) return _urgent.Count + _normal.Count; } }

    public ValueTask<Lease> AcquireAsync(ModbusPriority priority, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Waiter waiter;
        lock (_gate)
        {
            if (!_busy)
            {
                _busy = true;
                return ValueTask.FromResult(new Lease(this));
            }
            waiter = new Waiter();
            (priority == ModbusPriority.Urgent ? _urgent : _normal).Enqueue(waiter);
        }
        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.Register(static s => ((Waiter)s!).Completion.TrySetCanceled(), waiter);
        }
        return new ValueTask<Lease>(WaitAsync(waiter));
    }

    private async Task<Lease> WaitAsync(Waiter waiter)
    {
        try
        {
            await waiter.Completion.Task.ConfigureAwait(false);
            return new Lease(this);
        }
        finally
        {
            await waiter.Registration.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Release()
    {
        lock (_gate)
        {
            while (_urgent.TryDequeue(out var next) || _normal.TryDequeue(out next))
            {
                // A waiter cancelled while queued has already completed; skip it.
                if (next.Completion.TrySetResult()) return;
            }
            _busy = false;
        }
    }

    private sealed class Waiter
    {
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Registration { get; set; }
    }

    /// <summary>Holding the bus; dispose to pass it on.</summary>
    public readonly struct Lease : IDisposable
    {
        private readonly BusArbiter _owner;

        public Lease(BusArbiter owner) => _owner = owner;

        public void Dispose() => _owner.Release();
    }
}
