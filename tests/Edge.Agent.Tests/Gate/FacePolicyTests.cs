using Kezekshi.Edge.Agent.Gate;

namespace Kezekshi.Edge.Agent.Tests.Gate;

/// <summary>A recognised face goes through the same rules as the pupil's card (GatePolicy.DecideFace).</summary>
[Category("Unit")]
public class FacePolicyTests
{
    private static readonly TimeZoneInfo s_almaty = TimeZoneInfo.FindSystemTimeZoneById("Asia/Almaty");

    // Monday 2026-11-23, 07:45 in Almaty (UTC+5).
    private static readonly DateTimeOffset s_mondayMorning = new(2026, 11, 23, 7, 45, 0, TimeSpan.FromHours(5));

    private static Holder Pupil(long id, bool active = true) => new(HolderKind.Pupil, id, $"Pupil {id}", active, 1, null);

    /// <summary>Pupils 1–4 have cards (2 blocked, 3 lost); pupil 5 has no card; pupil 6 has left.</summary>
    private static AccessSnapshot Snapshot(IEnumerable<DateOnly>? holidays = null, AntiPassbackMode antiPassback = AntiPassbackMode.Soft) => new(
        s_almaty,
        [
            new(1001, CredentialStatus.Active, Pupil(1)),
            new(1002, CredentialStatus.Blocked, Pupil(2)),
            new(1003, CredentialStatus.Lost, Pupil(3)),
            new(1004, CredentialStatus.Active, Pupil(4)),
        ],
        new Dictionary<long, TimeWindow[]> { [1] = [.. Enumerable.Range(1, 6).Select(d => new TimeWindow(d, new TimeOnly(7, 0), new TimeOnly(18, 30)))] },
        new Dictionary<string, TimeWindow[]>(),
        holidays ?? [],
        [new GateRules("gate1", antiPassback, [])],
        [Pupil(1), Pupil(2), Pupil(3), Pupil(4), Pupil(5), Pupil(6, active: false)]);

    private static GateDecision Face(AccessSnapshot snapshot, long pupil, DateTimeOffset? at = null, PresenceTracker? presence = null, Direction direction = Direction.Entry) =>
        GatePolicy.DecideFace(snapshot, presence ?? new PresenceTracker(), "gate1", direction, pupil, at ?? s_mondayMorning);

    [Test]
    public void A_recognised_pupil_in_school_hours_is_granted_and_the_decision_names_them()
    {
        var decision = Face(Snapshot(), 1);

        Assert.That((decision.Granted, decision.Reason), Is.EqualTo((true, DecisionReason.Granted)));
        Assert.That(decision.Credential, Is.Null, "no card was presented");
        Assert.That(decision.Holder!.Id, Is.EqualTo(1));
    }

    [Test]
    public void A_pupil_without_a_card_is_found_in_the_roster()
    {
        Assert.That(Face(Snapshot(), 5).Holder!.Id, Is.EqualTo(5));
        Assert.That(Face(Snapshot(), 5).Granted, Is.True);
    }

    [Test]
    public void A_blocked_card_blocks_the_face_too_and_a_lost_card_does_not()
    {
        Assert.That(Face(Snapshot(), 2).Reason, Is.EqualTo(DecisionReason.CardBlocked));
        Assert.That(Face(Snapshot(), 2).Granted, Is.False);
        Assert.That(Face(Snapshot(), 3).Granted, Is.True, "the card is lost, not the pupil");
    }

    [Test]
    public void Unknown_and_departed_pupils_are_refused()
    {
        Assert.That(Face(Snapshot(), 99).Reason, Is.EqualTo(DecisionReason.UnknownPupil));
        Assert.That(Face(Snapshot(), 6).Reason, Is.EqualTo(DecisionReason.HolderInactive));
    }

    [Test]
    public void Holidays_time_windows_and_hard_anti_passback_apply_as_for_the_card()
    {
        var monday = DateOnly.FromDateTime(s_mondayMorning.DateTime);
        Assert.That(Face(Snapshot(holidays: [monday]), 1).Reason, Is.EqualTo(DecisionReason.Holiday));
        Assert.That(Face(Snapshot(), 1, at: s_mondayMorning.AddHours(12)).Reason, Is.EqualTo(DecisionReason.OutsideTimeWindow));

        var presence = new PresenceTracker();
        presence.Record(HolderKind.Pupil, 1, Direction.Entry);
        Assert.That(Face(Snapshot(antiPassback: AntiPassbackMode.Hard), 1, presence: presence).Reason, Is.EqualTo(DecisionReason.AntiPassback));
        Assert.That(Face(Snapshot(antiPassback: AntiPassbackMode.Hard), 1, presence: presence, direction: Direction.Exit).Granted, Is.True);
    }

    [Test]
    public void Without_a_roster_the_card_holders_are_the_pupils()
    {
        var snapshot = new AccessSnapshot(s_almaty, [new(1001, CredentialStatus.Active, Pupil(1))], new Dictionary<long, TimeWindow[]>(),
            new Dictionary<string, TimeWindow[]>(), [], []);

        Assert.That(snapshot.Pupils.Keys, Is.EqualTo(new long[] { 1 }));
    }
}
