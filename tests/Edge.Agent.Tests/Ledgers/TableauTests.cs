using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Ledgers;
using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Ledgers.Tableau;

namespace Kezekshi.Edge.Agent.Tests.Ledgers;

[Category("Integration")]
public class TableauTests
{
    private static readonly TimeSpan s_almaty = TimeSpan.FromHours(5);

    private static DateTimeOffset At(int month, int day, int hour, int minute) => new(2026, month, day, hour, minute, 0, s_almaty);

    private static void Exec(CanteenRig rig, string sql)
    {
        using var connection = rig.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void SchoolWideBells(CanteenRig rig)
    {
        for (int weekday = 1; weekday <= 5; weekday++)
            Exec(rig, $"INSERT INTO bell_schedule(class_id, weekday, lesson, starts_at, ends_at) VALUES (NULL, {weekday}, 1, '08:30', '09:15'), (NULL, {weekday}, 2, '09:25', '10:10')");
    }

    [Test]
    public async Task Register_marks_present_late_absent_weekends_holidays_and_days_to_come()
    {
        using var rig = new CanteenRig();
        SchoolWideBells(rig);
        Exec(rig, "INSERT INTO bell_schedule(class_id, weekday, lesson, starts_at, ends_at) VALUES (1, 3, 1, '09:00', '09:45')"); // class 1 starts later on Wednesdays
        await GatePassages.RecordAsync(rig.Database,
            (HolderKind.Pupil, 1, Direction.Entry, At(12, 1, 8, 10)),   // Tue: on time
            (HolderKind.Pupil, 1, Direction.Exit, At(12, 1, 14, 0)),
            (HolderKind.Pupil, 1, Direction.Entry, At(12, 2, 8, 50)),   // Wed: class 1 starts 09:00 on Wednesdays: on time
            (HolderKind.Pupil, 1, Direction.Entry, At(12, 4, 8, 45)),   // Fri: late
            (HolderKind.Pupil, 6, Direction.Entry, At(12, 2, 8, 31)),   // Wed for pupil 6 (class 1): on time at 08:31
            (HolderKind.Pupil, 6, Direction.Entry, At(12, 5, 10, 0)));  // Saturday: not a school day
        var builder = new AttendanceRegisterBuilder(rig.Database, rig.Ledger.Calendar);
        var register = builder.ForClass(1, 2026, 12, madeOn: new DateOnly(2026, 12, 16));
        Assert.That(register.Days, Has.Count.EqualTo(31));
        Assert.That(register.Days[15].Kind, Is.EqualTo(RegisterDayKind.Holiday), "16 December");
        Assert.That(register.Days[4].Kind, Is.EqualTo(RegisterDayKind.Weekend), "Saturday 5 December");
        var pupil1 = register.Rows.Single(r => r.Id == 1);
        Assert.That(pupil1.Marks.Take(4), Is.EqualTo(new[] { AttendanceMark.Present, AttendanceMark.Present, AttendanceMark.Absent, AttendanceMark.Late }));
        Assert.That(pupil1.Marks[16], Is.EqualTo(AttendanceMark.Future), "17 December is after the day the register was made");
        Assert.That((pupil1.Present, pupil1.Late), Is.EqualTo((2, 1)));
        Assert.That(pupil1.Absent, Is.EqualTo(8), "11 school days to the 16th (a holiday), 3 attended");
        Assert.That(register.Rows.Single(r => r.Id == 6).Marks[4], Is.EqualTo(AttendanceMark.NoSchool));
        Assert.That(register.Rows, Has.Count.EqualTo(10), "the class's 10 pupils");

        string csv = TableauRender.RegisterCsv(register);
        var line = csv.Split("\r\n").Single(l => l.Contains(pupil1.Name, StringComparison.Ordinal));
        Assert.That(line, Does.StartWith($"1,{pupil1.Name},P,P,A,L,W,W,").Or.Contain($",{pupil1.Name},P,P,A,L,W,W,"));
        Assert.That(line, Does.Contain(",H,"));
        Assert.That(line, Does.EndWith(",3,1,8"));
        string html = TableauRender.RegisterHtml(register);
        Assert.That(html, Does.Contain("@media print").And.Contain("<table>").And.Contain(pupil1.Name).And.Contain("Independence Day"));
        Assert.That(html, Does.Not.Contain("<script").And.Not.Contain("http:").And.Not.Contain("https:"), "self-contained");
    }

    [Test]
    public async Task Staff_register_uses_the_school_wide_first_lesson()
    {
        using var rig = new CanteenRig();
        SchoolWideBells(rig);
        await GatePassages.RecordAsync(rig.Database, (HolderKind.Staff, 1, Direction.Entry, At(12, 1, 8, 20)), (HolderKind.Staff, 2, Direction.Entry, At(12, 1, 8, 40)));
        var register = new AttendanceRegisterBuilder(rig.Database, rig.Ledger.Calendar).ForStaff(2026, 12, new DateOnly(2026, 12, 1));
        Assert.That(register.Rows.Single(r => r.Id == 1).Marks[0], Is.EqualTo(AttendanceMark.Present));
        Assert.That(register.Rows.Single(r => r.Id == 2).Marks[0], Is.EqualTo(AttendanceMark.Late));
        Assert.That(register.Rows.Single(r => r.Id == 3).Marks[0], Is.EqualTo(AttendanceMark.Absent));
        Assert.That(register.Group, Is.EqualTo("Staff"));
    }

    [Test]
    [Category("Unit")]
    public void Csv_quotes_commas_and_quotes_and_defuses_spreadsheet_formulas()
    {
        var days = new[] { new RegisterDay(new DateOnly(2026, 12, 1), RegisterDayKind.SchoolDay, null) };
        var register = new AttendanceRegister("School", "Class 1A", 2026, 12, days,
            [new RegisterRow(1, "Smith, \"Jo\"", [AttendanceMark.Present]), new RegisterRow(2, "=HYPERLINK(\"x\")", [AttendanceMark.Absent])], new DateOnly(2026, 12, 1));
        var lines = TableauRender.RegisterCsv(register).Split("\r\n");
        Assert.That(lines[1], Is.EqualTo("1,\"Smith, \"\"Jo\"\"\",P,1,0,0"));
        Assert.That(lines[2], Does.StartWith("2,\"'=HYPERLINK(\"\"x\"\")\",A"));
        Assert.That(TableauRender.CsvBytes("a")[..3], Is.EqualTo(new byte[] { 0xEF, 0xBB, 0xBF }));
        Assert.That(TableauRender.RegisterHtml(register), Does.Contain("Smith, &quot;Jo&quot;"));
    }

    [Test]
    public void Free_meal_report_counts_entitled_meals_and_their_cost_without_voided_ones()
    {
        using var rig = new CanteenRig();
        rig.Ledger.GrantEntitlement(1, "primary-grades", 40_000, new DateOnly(2026, 9, 1));
        rig.Ledger.GrantEntitlement(2, "social-wallet", 60_000, new DateOnly(2026, 9, 1));
        rig.Ledger.ApplyTopUp("t-1", 1, 100_000, CanteenRig.Lunch);
        ChargeResult Sell(long pupil, MenuItem item, int day) =>
            rig.Ledger.Charge(new ChargeRequest(Guid.NewGuid().ToString(), rig.Shift.Id, pupil, [new ChargeLine(item.Id)], At(11, day, 12, 30)));
        Sell(1, rig.Plov, 23);
        Sell(1, rig.Soup, 24);
        Sell(2, rig.Plov, 23);
        var voided = Sell(2, rig.Soup, 24);
        rig.Ledger.Void(new VoidRequest("v", voided.TransactionId!.Value, "wrong pupil", CanteenRig.Cashier, rig.Shift.Id, At(11, 24, 12, 31)));
        Sell(3, rig.Plov, 23); // not entitled: not on the report (and no money: refused)
        var report = new FreeMealReportBuilder(rig.Database).Build(2026, 11);
        Assert.That(report.Lines.Select(l => (l.PupilId, l.Meals, l.Cost)), Is.EqualTo(new[] { (1L, 2, 75_000L), (2L, 1, 60_000L) }));
        Assert.That((report.TotalMeals, report.TotalCost), Is.EqualTo((3, 135_000L)));
        Assert.That(report.Lines[0].Program, Is.EqualTo("primary-grades"));
        string csv = TableauRender.FreeMealCsv(report);
        Assert.That(csv, Does.Contain(",primary-grades,2,750.00\r\n").And.EndWith(",Total,,,3,1350.00\r\n"));
        Assert.That(TableauRender.FreeMealHtml(report), Does.Contain("1350.00").And.Contain("@media print"));
        Assert.That(new FreeMealReportBuilder(rig.Database).Build(2026, 12).Lines, Is.Empty);
    }

    [Test]
    public async Task Live_board_counts_who_is_in_per_class_lists_arrivals_and_active_announcements()
    {
        using var rig = new CanteenRig();
        var now = At(11, 23, 9, 0);
        await GatePassages.RecordAsync(rig.Database,
            (HolderKind.Pupil, 1, Direction.Entry, At(11, 22, 8, 0)),   // yesterday, never left: not counted today
            (HolderKind.Pupil, 2, Direction.Entry, At(11, 23, 8, 0)),
            (HolderKind.Pupil, 7, Direction.Entry, At(11, 23, 8, 5)),
            (HolderKind.Pupil, 12, Direction.Entry, At(11, 23, 8, 6)),
            (HolderKind.Pupil, 12, Direction.Exit, At(11, 23, 8, 40)),
            (HolderKind.Staff, 3, Direction.Entry, At(11, 23, 7, 50)));
        var board = new LiveBoard(rig.Database, rig.Ledger.Calendar);
        var announcements = new Announcements(rig.Database);
        announcements.Upsert("a-1", "Sports day on Friday", At(11, 20, 0, 0), At(11, 28, 0, 0), At(11, 20, 0, 0));
        announcements.Upsert("a-2", "Old news", At(11, 1, 0, 0), At(11, 2, 0, 0), At(11, 1, 0, 0));
        var snapshot = board.Snapshot(now);
        Assert.That(snapshot.Classes.Single(c => c.ClassId == 2).Present, Is.EqualTo(3 - 1), "pupils 2 and 7 (class 2), pupil 12 left");
        Assert.That(snapshot.Classes.Single(c => c.ClassId == 1).Present, Is.Zero);
        Assert.That(snapshot.Classes.Single(c => c.ClassId == 2).Enrolled, Is.EqualTo(10));
        Assert.That((snapshot.PupilsInside, snapshot.StaffInside), Is.EqualTo((2, 1)));
        Assert.That(snapshot.LatestArrivals[0].At, Is.EqualTo(At(11, 23, 8, 6).AddSeconds(1)));
        Assert.That(snapshot.LatestArrivals, Has.Count.EqualTo(4), "today's entries only");
        Assert.That(snapshot.Announcements.Select(a => a.Uid), Is.EqualTo(new[] { "a-1" }));
        string version = snapshot.Version;
        Assert.That(board.Snapshot(now).Version, Is.EqualTo(version), "nothing changed");
        await GatePassages.RecordAsync(rig.Database, (HolderKind.Pupil, 17, Direction.Entry, At(11, 23, 9, 1)));
        Assert.That(board.Snapshot(now).Version, Is.Not.EqualTo(version), "a passage changes the version");
        version = board.Snapshot(now).Version;
        announcements.Upsert("a-1", "Sports day moved to Saturday", At(11, 20, 0, 0), null, At(11, 23, 0, 0));
        Assert.That(board.Snapshot(now).Announcements.Single().Text, Is.EqualTo("Sports day moved to Saturday"));
        Assert.That(board.Snapshot(now).Version, Is.Not.EqualTo(version), "an edited announcement changes the version");
        Assert.That(board.Snapshot(At(11, 28, 0, 1)).Announcements, Has.Count.EqualTo(1), "no end date now: still shown later");
        Assert.That(announcements.Remove("a-1"), Is.True);
        Assert.That(board.Snapshot(now).Announcements, Is.Empty);
    }

    [Test]
    public async Task Roll_call_lists_everyone_inside_and_visitors_with_valid_passes_and_records_ticks()
    {
        using var rig = new CanteenRig();
        var alarm = CanteenRig.Lunch;
        await GatePassages.RecordAsync(rig.Database,
            (HolderKind.Pupil, 2, Direction.Entry, alarm.AddHours(-4)),
            (HolderKind.Pupil, 3, Direction.Entry, alarm.AddHours(-4)),
            (HolderKind.Pupil, 4, Direction.Entry, alarm.AddHours(-4)),
            (HolderKind.Pupil, 4, Direction.Exit, alarm.AddHours(-1)),
            (HolderKind.Staff, 1, Direction.Entry, alarm.AddHours(-5)));
        var rollCall = new RollCall(rig.Database, rig.Ledger.Calendar);
        var sheet = rollCall.Start("fire alarm", alarm);
        Assert.That(sheet.People.Select(p => (p.HolderKind, p.HolderId)), Is.EquivalentTo(new[] { ("pupil", 2L), ("pupil", 3L), ("staff", 1L), ("visitor", 1L) }),
            "pupil 4 left; visitor 1 has a valid pass but was never seen at a gate");
        Assert.That(sheet.People.Single(p => p.HolderKind == "visitor").Group, Does.Contain("not seen at a gate"));
        Assert.That(sheet.Missing, Is.EqualTo(4));
        rollCall.Tick(sheet.SessionId, "pupil", 2, "teacher 1", alarm.AddMinutes(4));
        rollCall.Tick(sheet.SessionId, "pupil", 2, "teacher 2", alarm.AddMinutes(5));
        rollCall.Tick(sheet.SessionId, "staff", 1, "teacher 2", alarm.AddMinutes(5));
        Assert.Throws<LedgerException>(() => rollCall.Tick(sheet.SessionId, "pupil", 40, "teacher 2", alarm));
        Assert.That(rollCall.Start("second press", alarm.AddMinutes(1)).SessionId, Is.EqualTo(sheet.SessionId), "one roll-call at a time");
        var now = rollCall.Current()!;
        Assert.That(now.Missing, Is.EqualTo(2));
        Assert.That(now.People.Single(p => p.HolderId == 2 && p.HolderKind == "pupil").AccountedBy, Is.EqualTo("teacher 1"), "the first tick stays");
        rollCall.Untick(sheet.SessionId, "staff", 1);
        string html = TableauRender.RollCallHtml(rollCall.Sheet(sheet.SessionId));
        Assert.That(html, Does.Contain("3 not yet accounted for of 4").And.Contain("@media print").And.Not.Contain("<script"));
        rollCall.End(sheet.SessionId, alarm.AddMinutes(20));
        Assert.That(rollCall.Current(), Is.Null);
    }

    [Test]
    public async Task Entitled_pupils_at_school_without_a_meal_by_the_cut_off_are_listed_per_class()
    {
        using var rig = new CanteenRig();
        var day = new DateOnly(2026, 11, 23);
        foreach (long pupil in new long[] { 1, 6, 11, 16, 21 }) rig.Ledger.GrantEntitlement(pupil, "primary-grades", 60_000, new DateOnly(2026, 9, 1));
        await GatePassages.RecordAsync(rig.Database,
            (HolderKind.Pupil, 1, Direction.Entry, At(11, 23, 8, 0)),   // eats
            (HolderKind.Pupil, 6, Direction.Entry, At(11, 23, 8, 0)),   // does not eat: listed
            (HolderKind.Pupil, 11, Direction.Entry, At(11, 23, 8, 0)),  // leaves before the cut-off
            (HolderKind.Pupil, 11, Direction.Exit, At(11, 23, 11, 0)),
            (HolderKind.Pupil, 16, Direction.Entry, At(11, 23, 13, 30)), // arrives after the cut-off
            (HolderKind.Pupil, 2, Direction.Entry, At(11, 23, 8, 0)));  // not entitled; 21 is absent
        rig.Ledger.Charge(new ChargeRequest("meal-1", rig.Shift.Id, 1, [new ChargeLine(rig.Plov.Id)], At(11, 23, 12, 0)));
        var list = new MealWatch(rig.Database, rig.Ledger.Calendar).EntitledButNotEaten(day, new TimeOnly(13, 0));
        Assert.That(list.Select(m => m.PupilId), Is.EqualTo(new[] { 6L }));
        Assert.That(list[0].Program, Is.EqualTo("primary-grades"));
        Assert.That(new MealWatch(rig.Database, rig.Ledger.Calendar).EntitledButNotEaten(day, new TimeOnly(13, 0), classId: 2), Is.Empty);
    }
}
