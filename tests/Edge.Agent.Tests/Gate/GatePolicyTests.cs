using Kezekshi.Edge.Agent.Gate;

namespace Kezekshi.Edge.Agent.Tests.Gate;

[Category("Unit")]
public class GatePolicyTests
{
    private static readonly TimeZoneInfo s_almaty = TimeZoneInfo.FindSystemTimeZoneById("Asia/Almaty");

    // Monday 2026-11-23, 07:45 in Almaty (UTC+5).
    private static readonly DateTimeOffset s_mondayMorning = new(2026, 11, 23, 7, 45, 0, TimeSpan.FromHours(5));

    private static Holder Pupil(long id, long classId = 1, bool active = true) => new(HolderKind.Pupil, id, $"Pupil {id}", active, classId, null);

    private static AccessSnapshot Snapshot(AntiPassbackMode antiPassback = AntiPassbackMode.Soft, IEnumerable<Credential>? extra = null,
        IEnumerable<DateOnly>? holidays = null, IReadOnlyList<(TimeWindow, DirectionMode)>? directionSchedule = null)
    {
        var credentials = new List<Credential>
        {
            new(1001, CredentialStatus.Active, Pupil(1)),
            new(1002, CredentialStatus.Blocked, Pupil(2)),
            new(1003, CredentialStatus.Lost, Pupil(3)),
            new(1004, CredentialStatus.Active, Pupil(4, active: false)),
            new(2001, CredentialStatus.Active, new Holder(HolderKind.Staff, 1, "Guard", true, null, "guard")),
            new(3001, CredentialStatus.Active, new Holder(HolderKind.Visitor, 1, "Visitor", true, null, null, s_mondayMorning.AddHours(-1), s_mondayMorning.AddHours(1))),
        };
        if (extra is not null) credentials.AddRange(extra);
        var classWindows = new Dictionary<long, TimeWindow[]>
        {
            [1] = [.. Enumerable.Range(1, 6).Select(d => new TimeWindow(d, new TimeOnly(7, 0), new TimeOnly(18, 30)))],
        };
        return new AccessSnapshot(s_almaty, credentials, classWindows, new Dictionary<string, TimeWindow[]>(),
            holidays ?? [], [new GateRules("gate1", antiPassback, directionSchedule ?? [])]);
    }

    private static GateDecision Decide(AccessSnapshot snapshot, ulong card, Direction direction = Direction.Entry, DateTimeOffset? at = null, PresenceTracker? presence = null) =>
        GatePolicy.Decide(snapshot, presence ?? new PresenceTracker(), "gate1", direction, card, at ?? s_mondayMorning);

    [Test]
    public void Active_pupil_in_school_hours_is_granted()
    {
        var decision = Decide(Snapshot(), 1001);
        Assert.That(decision.Granted, Is.True);
        Assert.That(decision.Reason, Is.EqualTo(DecisionReason.Granted));
        Assert.That(decision.Credential!.Holder.Id, Is.EqualTo(1));
    }

    [TestCase(9999ul, DecisionReason.UnknownCard)]
    [TestCase(1002ul, DecisionReason.CardBlocked)]
    [TestCase(1003ul, DecisionReason.CardLost)]
    [TestCase(1004ul, DecisionReason.HolderInactive)]
    public void Card_that_must_not_open_the_gate_is_denied_with_its_reason(ulong card, DecisionReason expected)
    {
        var decision = Decide(Snapshot(), card);
        Assert.That(decision.Granted, Is.False);
        Assert.That(decision.Reason, Is.EqualTo(expected));
    }

    [Test]
    public void Pupil_is_denied_entry_outside_the_class_time_window_but_may_always_leave()
    {
        var sunday = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.FromHours(5));
        var evening = new DateTimeOffset(2026, 11, 23, 19, 0, 0, TimeSpan.FromHours(5));
        Assert.That(Decide(Snapshot(), 1001, at: sunday).Reason, Is.EqualTo(DecisionReason.OutsideTimeWindow));
        Assert.That(Decide(Snapshot(), 1001, at: evening).Reason, Is.EqualTo(DecisionReason.OutsideTimeWindow));
        Assert.That(Decide(Snapshot(), 1001, Direction.Exit, at: evening).Granted, Is.True);
    }

    [Test]
    public void Time_window_is_evaluated_in_the_school_time_zone()
    {
        // 02:30 UTC is 07:30 in Almaty: inside the window although the UTC clock says night.
        var utc = new DateTimeOffset(2026, 11, 23, 2, 30, 0, TimeSpan.Zero);
        Assert.That(Decide(Snapshot(), 1001, at: utc).Granted, Is.True);
    }

    [Test]
    public void Pupil_is_denied_on_a_holiday_and_staff_are_not()
    {
        var snapshot = Snapshot(holidays: [new DateOnly(2026, 11, 23)]);
        Assert.That(Decide(snapshot, 1001).Reason, Is.EqualTo(DecisionReason.Holiday));
        Assert.That(Decide(snapshot, 2001).Granted, Is.True);
    }

    [Test]
    public void Visitor_pass_is_honoured_only_while_valid()
    {
        Assert.That(Decide(Snapshot(), 3001).Granted, Is.True);
        Assert.That(Decide(Snapshot(), 3001, at: s_mondayMorning.AddHours(2)).Reason, Is.EqualTo(DecisionReason.VisitorPassExpired));
        Assert.That(Decide(Snapshot(), 3001, at: s_mondayMorning.AddHours(-2)).Reason, Is.EqualTo(DecisionReason.VisitorPassNotYetValid));
    }

    [Test]
    public void Hard_anti_passback_refuses_a_second_entry_and_soft_allows_it_with_a_warning()
    {
        var presence = new PresenceTracker();
        presence.Record(HolderKind.Pupil, 1, Direction.Entry);
        Assert.That(Decide(Snapshot(AntiPassbackMode.Hard), 1001, presence: presence).Reason, Is.EqualTo(DecisionReason.AntiPassback));
        var soft = Decide(Snapshot(AntiPassbackMode.Soft), 1001, presence: presence);
        Assert.That(soft.Granted, Is.True);
        Assert.That(soft.Reason, Is.EqualTo(DecisionReason.GrantedDespitePassback));
        Assert.That(Decide(Snapshot(AntiPassbackMode.Hard), 1001, Direction.Exit, presence: presence).Granted, Is.True);
    }

    [Test]
    public void Entry_only_morning_rush_refuses_exits_in_its_window_only()
    {
        var rush = new List<(TimeWindow, DirectionMode)> { (new TimeWindow(1, new TimeOnly(7, 30), new TimeOnly(8, 30)), DirectionMode.EntryOnly) };
        var snapshot = Snapshot(directionSchedule: rush);
        Assert.That(Decide(snapshot, 1001, Direction.Exit).Reason, Is.EqualTo(DecisionReason.DirectionNotAllowed));
        Assert.That(Decide(snapshot, 1001, Direction.Entry).Granted, Is.True);
        Assert.That(Decide(snapshot, 1001, Direction.Exit, at: s_mondayMorning.AddHours(2)).Granted, Is.True);
    }

    [Test]
    public void Debouncer_ignores_the_same_card_at_the_same_reader_within_the_window_only()
    {
        var time = new ManualTime();
        var debouncer = new ReadDebouncer(TimeSpan.FromSeconds(1.5), time);
        Assert.That(debouncer.Accept("r1", 5, time.GetTimestamp()), Is.True);
        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.That(debouncer.Accept("r1", 5, time.GetTimestamp()), Is.False);
        Assert.That(debouncer.Accept("r2", 5, time.GetTimestamp()), Is.True, "another reader");
        Assert.That(debouncer.Accept("r1", 6, time.GetTimestamp()), Is.True, "another card");
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(debouncer.Accept("r1", 6, time.GetTimestamp()), Is.True, "after the window");
    }
}

/// <summary>A clock tests move by hand.</summary>
public sealed class ManualTime : TimeProvider
{
    private long _ticks;
    private DateTimeOffset _now = new(2026, 11, 23, 2, 45, 0, TimeSpan.Zero);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override long GetTimestamp() => _ticks;
    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by)
    {
        _ticks += by.Ticks;
        _now += by;
    }
}
