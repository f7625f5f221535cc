using System.Globalization;
using Kezekshi.Edge.Agent.Store;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Agent.Ledgers.Tableau;

/// <summary>What a day is in the register.</summary>
public enum RegisterDayKind { SchoolDay, Weekend, Holiday }

/// <summary>One cell of the register.</summary>
public enum AttendanceMark
{
    /// <summary>Came in by the first lesson.</summary>
    Present,
    /// <summary>First came in after the first lesson started.</summary>
    Late,
    /// <summary>No passage that school day.</summary>
    Absent,
    /// <summary>Weekend or holiday: no lessons.</summary>
    NoSchool,
    /// <summary>A day after the register was made: not yet known.</summary>
    Future,
}

/// <summary>A column of the register.</summary>
public sealed record RegisterDay(DateOnly Date, RegisterDayKind Kind, string? HolidayName);

/// <summary>A row of the register: one person and a mark per day.</summary>
public sealed record RegisterRow(long Id, string Name, IReadOnlyList<AttendanceMark> Marks)
{
    public int Present => Marks.Count(m => m == AttendanceMark.Present);
    public int Late => Marks.Count(m => m == AttendanceMark.Late);
    public int Absent => Marks.Count(m => m == AttendanceMark.Absent);
}

/// <summary>The monthly attendance register (табель) of a class or of the staff.</summary>
public sealed record AttendanceRegister(string SchoolName, string Group, int Year, int Month, IReadOnlyList<RegisterDay> Days, IReadOnlyList<RegisterRow> Rows, DateOnly MadeOn);

/// <summary>Options of the register.</summary>
public sealed record RegisterOptions
{
    /// <summary>Minutes after the first lesson's start that still count as on time.</summary>
    public int LateGraceMinutes { get; init; }

    /// <summary>Start of the working day for staff when the bell schedule has no school-wide lessons for that weekday.</summary>
    public TimeOnly StaffStart { get; init; } = new(8, 0);

    /// <summary>School weekdays (ISO 1 = Monday) used when the bell schedule is empty.</summary>
    public IReadOnlyList<int> DefaultSchoolWeekdays { get; init; } = [1, 2, 3, 4, 5];
}

/// <summary>
/// Builds the табель from passages and the bell schedule. A pupil is present on a school day if a passage let them in
/// (or out) that day, late if their first entry came after the first lesson's start (plus grace), absent otherwise.
/// A school day is a weekday with lessons in the bell schedule that is not in <c>holidays</c>.
/// </summary>
public sealed class AttendanceRegisterBuilder(EdgeDatabase database, SchoolCalendar calendar, RegisterOptions? options = null)
{
    private readonly RegisterOptions _options = options ?? new RegisterOptions();

    /// <summary>The register of class <paramref name="classId"/> for a month; days after <paramref name="madeOn"/> are marked future.</summary>
    public AttendanceRegister ForClass(long classId, int year, int month, DateOnly madeOn)
    {
        using var connection = database.Connect();
        string className = LedgerSql.Scalar(connection, null, "SELECT name FROM classes WHERE id = $c", ("$c", classId)) as string
            ?? throw new LedgerException($"There is no class {classId}.");
        var people = LedgerSql.Query(connection, null, "SELECT id, full_name FROM pupils WHERE class_id = $c AND status = 'active' ORDER BY full_name, id",
            r => (r.GetInt64(0), r.GetString(1)), ("$c", classId));
        var bells = Bells(connection, classId);
        return Build(connection, "pupil", "Class " + className, people, bells, year, month, madeOn, classId: classId);
    }

    /// <summary>The staff register for a month: late is after the school-wide first lesson (or <see cref="RegisterOptions.StaffStart"/>).</summary>
    public AttendanceRegister ForStaff(int year, int month, DateOnly madeOn)
    {
        using var connection = database.Connect();
        var people = LedgerSql.Query(connection, null, "SELECT id, full_name FROM staff WHERE status = 'active' ORDER BY full_name, id", r => (r.GetInt64(0), r.GetString(1)));
        return Build(connection, "staff", "Staff", people, Bells(connection, null), year, month, madeOn, staff: true);
    }

    /// <summary>First lesson start per ISO weekday: the class's own rows, else the school-wide rows (class_id NULL).</summary>
    private static Dictionary<int, TimeOnly> Bells(SqliteConnection connection, long? classId)
    {
        var result = new Dictionary<int, TimeOnly>();
        foreach (var (weekday, start, forClass) in LedgerSql.Query(connection, null,
            "SELECT weekday, MIN(starts_at), class_id IS NOT NULL FROM bell_schedule WHERE class_id = $c OR class_id IS NULL GROUP BY weekday, class_id IS NOT NULL",
            r => (r.GetInt32(0), TimeOnly.Parse(r.GetString(1), CultureInfo.InvariantCulture), r.GetInt64(2) != 0), ("$c", classId)))
        {
            if (forClass || !result.ContainsKey(weekday)) result[weekday] = start;
        }
        return result;
    }

    private AttendanceRegister Build(SqliteConnection connection, string holderKind, string group, List<(long Id, string Name)> people,
        Dictionary<int, TimeOnly> bells, int year, int month, DateOnly madeOn, bool staff = false, long? classId = null)
    {
        if (month is < 1 or > 12 || year is < 2000 or > 2100) throw new ArgumentException($"{year}-{month} is not a month the register can be made for.", nameof(month));
        var first = new DateOnly(year, month, 1);
        var last = first.AddMonths(1).AddDays(-1);
        var holidays = LedgerSql.Query(connection, null, "SELECT day, name FROM holidays WHERE day BETWEEN $f AND $l", r => (LedgerSql.ParseDay(r.GetString(0)), r.GetString(1)),
            ("$f", LedgerSql.Day(first)), ("$l", LedgerSql.Day(last))).ToDictionary(h => h.Item1, h => h.Item2);
        var days = new List<RegisterDay>();
        for (var d = first; d <= last; d = d.AddDays(1))
        {
            int weekday = d.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)d.DayOfWeek;
            bool lessons = bells.Count > 0 ? bells.ContainsKey(weekday) : _options.DefaultSchoolWeekdays.Contains(weekday);
            days.Add(holidays.TryGetValue(d, out var name) ? new RegisterDay(d, RegisterDayKind.Holiday, name)
                : new RegisterDay(d, lessons ? RegisterDayKind.SchoolDay : RegisterDayKind.Weekend, null));
        }

        // Passages that let someone through, a day either side in UTC so every local day of the month is covered.
        var from = LedgerSql.Time(calendar.At(first, TimeOnly.MinValue).AddDays(-1).ToUniversalTime());
        var until = LedgerSql.Time(calendar.At(last, TimeOnly.MinValue).AddDays(2).ToUniversalTime());
        var firstEntry = new Dictionary<(long, DateOnly), DateTimeOffset>();
        var anyPassage = new HashSet<(long, DateOnly)>();
        foreach (var (holder, direction, at) in LedgerSql.Query(connection, null, """
            SELECT holder_id, direction, COALESCE(completed_at, decided_at) FROM passages
            WHERE holder_kind = $k AND decided_at >= $f AND decided_at < $u AND outcome IN ('passed','free-pass')
              AND ($c IS NULL OR holder_id IN (SELECT id FROM pupils WHERE class_id = $c))
            """, r => (r.GetInt64(0), r.GetString(1), LedgerSql.ParseTime(r.GetString(2))), ("$k", holderKind), ("$f", from), ("$u", until), ("$c", classId)))
        {
            var day = calendar.DayOf(at);
            if (day < first || day > last) continue;
            anyPassage.Add((holder, day));
            if (direction == "entry" && (!firstEntry.TryGetValue((holder, day), out var seen) || at < seen)) firstEntry[(holder, day)] = at;
        }

        var rows = new List<RegisterRow>(people.Count);
        foreach (var (id, name) in people)
        {
            var marks = new AttendanceMark[days.Count];
            for (int i = 0; i < days.Count; i++)
            {
                var day = days[i];
                if (day.Kind != RegisterDayKind.SchoolDay) marks[i] = AttendanceMark.NoSchool;
                else if (day.Date > madeOn) marks[i] = AttendanceMark.Future;
                else if (!anyPassage.Contains((id, day.Date))) marks[i] = AttendanceMark.Absent;
                else
                {
                    int weekday = day.Date.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)day.Date.DayOfWeek;
                    TimeOnly? start = bells.TryGetValue(weekday, out var b) ? b : staff ? _options.StaffStart : null;
                    marks[i] = start is { } s && firstEntry.TryGetValue((id, day.Date), out var entered)
                        && entered > calendar.At(day.Date, s).AddMinutes(_options.LateGraceMinutes)
                        ? AttendanceMark.Late : AttendanceMark.Present;
                }
            }
            rows.Add(new RegisterRow(id, name, marks));
        }
        string school = LedgerSql.Scalar(connection, null, "SELECT name FROM school LIMIT 1") as string ?? "School";
        return new AttendanceRegister(school, group, year, month, days, rows, madeOn);
    }
}
