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

    /// <summary>Records one gap; returns true when it is a new maximum.</summary>
    public bool Record(TimeSpan gap)
    {
        Interlocked.Increment(ref _count);
        if (gap > 2 * Interval) Interlocked.Increment(ref _late);
        long ticks = gap.Ticks, max;
        while (ticks > (max = Interlocked.Read(ref _maxTicks)))
        {
            if (Interlocked.CompareExchange(ref _maxTicks, ticks, max) == max) return true;
        }
        return false;
    }
}
