namespace Kezekshi.Edge.Agent.Demo;

/// <summary>
/// A clock that runs at real speed but starts at a chosen wall-clock time, so the demo's morning rush
/// happens at 07:40 on a school day whenever it is run. Timestamps and timers are the real ones.
/// </summary>
public sealed class ShiftedTimeProvider(DateTimeOffset startAt) : TimeProvider
{
    private readonly long _origin = System.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => startAt.ToUniversalTime() + System.GetElapsedTime(_origin);
    public override long GetTimestamp() => System.GetTimestamp();
    public override long TimestampFrequency => System.TimestampFrequency;
    public override TimeZoneInfo LocalTimeZone => System.LocalTimeZone;
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        System.CreateTimer(callback, state, dueTime, period);

    /// <summary>The next Monday (or today if Monday) at <paramref name="time"/> in Almaty (UTC+5), for the demo school.</summary>
    public static DateTimeOffset NextSchoolMorning(DateTimeOffset now, TimeOnly time)
    {
        var almaty = now.ToOffset(TimeSpan.FromHours(5));
        int daysToMonday = ((int)DayOfWeek.Monday - (int)almaty.DayOfWeek + 7) % 7;
        var day = almaty.Date.AddDays(daysToMonday);
        return new DateTimeOffset(day.Year, day.Month, day.Day, time.Hour, time.Minute, 0, TimeSpan.FromHours(5));
    }
}
