namespace Kezekshi.Edge.Agent.Runtime;

/// <summary>
/// How regularly a device is polled: the longest time between the starts of two polls, and how many gaps were
/// longer than twice the configured interval. A long gap is a window in which a level-only input (a pass sensor
/// without a counter) can pulse and be missed; the IT console shows the worst one per input module.
/// </summary>
public sealed class PollGapMeter(string device, TimeSpan interval)
{
    private long _maxTicks;
    private long _count;
    private long _late;
    private long _maxExchangeTicks;
    private long _maxWakeLateTicks;
    private long _maxPending;

    /// <summary>The polled device (an input module's name in the configuration).</summary>
    public string Device { get; } = device;

    /// <summary>How the pass sensors on this device are read: "counter", "level", or null when none is wired to it.</summary>
    public string? PassSensorInput { get; internal set; }

    /// <summary>The configured poll interval.</summary>
    public TimeSpan Interval { get; } = interval;

    /// <summary>The longest gap seen between the starts of two polls since the agent started.</summary>
    public TimeSpan MaxGap => TimeSpan.FromTicks(Interlocked.Read(ref _maxTicks));

    /// <summary>Gaps measured.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Gaps longer than twice the interval: the poll loop was held up (CPU load, a slow bus, a stalled thread pool).</summary>
    public long LateCount => Interlocked.Read(ref _late);

    /// <summary>The longest time one poll spent on the bus (request, reply, and waiting for a relay command ahead of it).</summary>
    public TimeSpan MaxExchange => TimeSpan.FromTicks(Interlocked.Read(ref _maxExchangeTicks));

    /// <summary>The longest the poll loop woke up after its timer was due: the PC was too busy to run it (CPU or thread pool).</summary>
    public TimeSpan MaxWakeLate => TimeSpan.FromTicks(Interlocked.Read(ref _maxWakeLateTicks));

    /// <summary>The most work items waiting in the .NET thread pool when the poll loop woke up (0: the pool was not the bottleneck).</summary>
    public long MaxPendingWork => Interlocked.Read(ref _maxPending);

    /// <summary>Records what one poll cycle's gap was made of: time on the bus, and lateness of the wake-up.</summary>
    public void RecordParts(TimeSpan exchange, TimeSpan wakeLate, long pendingWork)
    {
        Max(ref _maxExchangeTicks, exchange.Ticks);
        Max(ref _maxWakeLateTicks, wakeLate.Ticks);
        Max(ref _maxPending, pendingWork);
    }

    private static bool Max(ref long field, long value)
    {
        long max;
        while (value > (max = Interlocked.Read(ref field)))
        {
            if (Interlocked.CompareExchange(ref field, value, max) == max) return true;
        }
        return false;
    }

    /// <summary>Records one gap; returns true when it is a new maximum.</summary>
    public bool Record(TimeSpan gap)
    {
        Interlocked.Increment(ref _count);
        if (gap > 2 * Interval) Interlocked.Increment(ref _late);
        return Max(ref _maxTicks, gap.Ticks);
    }
}
