using Kezekshi.Edge.Agent.Store;

namespace Kezekshi.Edge.Agent.Ledgers;

/// <summary>The school's local time: which school day an instant belongs to (daily limits, one meal a day, the табель).</summary>
public sealed class SchoolCalendar(TimeZoneInfo timeZone)
{
    public TimeZoneInfo TimeZone { get; } = timeZone;

    /// <summary>The calendar of the school in <paramref name="database"/> (its <c>school.time_zone</c>; UTC when not set).</summary>
    public static SchoolCalendar Load(EdgeDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        using var connection = database.Connect();
        return new SchoolCalendar(LedgerSql.Scalar(connection, null, "SELECT time_zone FROM school LIMIT 1") is string id
            ? AccessRepository.FindTimeZone(id)
            : TimeZoneInfo.Utc);
    }

    public DateTimeOffset Local(DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, TimeZone);

    public DateOnly DayOf(DateTimeOffset at) => DateOnly.FromDateTime(Local(at).DateTime);

    /// <summary>The instant at local <paramref name="time"/> on <paramref name="day"/>.</summary>
    public DateTimeOffset At(DateOnly day, TimeOnly time)
    {
        var local = day.ToDateTime(time);
        return new DateTimeOffset(local, TimeZone.GetUtcOffset(local));
    }
}

/// <summary>A ledger request that cannot be carried out as asked; the message says why and what to do.</summary>
public sealed class LedgerException : Exception
{
    public LedgerException() { }
    public LedgerException(string message) : base(message) { }
    public LedgerException(string message, Exception inner) : base(message, inner) { }
}
