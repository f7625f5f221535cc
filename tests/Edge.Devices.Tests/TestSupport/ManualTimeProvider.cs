namespace Kezekshi.Edge.Devices.Tests.TestSupport;

/// <summary>
/// A clock that moves only when a test says so. Timestamps and UTC time are manual; timers are not
/// implemented (code under test that waits must use a transport with the system clock).
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly object _gate = new();
    private long _ticks;
    private DateTimeOffset _utcStart = new(2026, 9, 1, 8, 0, 0, TimeSpan.Zero);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() { lock (_gate) return _ticks; }

    public override DateTimeOffset GetUtcNow() { lock (_gate) return _utcStart.AddTicks(_ticks); }

    /// <summary>Moves the clock forward.</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        lock (_gate) _ticks += by.Ticks;
    }

    /// <summary>Sets the UTC time the clock started at.</summary>
    public void SetUtcStart(DateTimeOffset start) { lock (_gate) _utcStart = start; }
}
