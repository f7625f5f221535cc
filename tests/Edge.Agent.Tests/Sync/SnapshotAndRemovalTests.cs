using System.Globalization;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Ledgers.Tableau;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Tests.Sync;

/// <summary>
/// The kinds the centre now produces, applied by the edge inbox on a real SQLite file (docs/sync-protocol.md §5.1, §5.4):
/// <c>class.remove</c>, staff cards under their role's schedule, and snapshots that remove what the centre no longer has
/// without touching money, resuming by version when interrupted.
/// </summary>
[Category("Integration")]
public class SnapshotAndRemovalTests
{
    private const long Staff = 200000000000001;
    private TempDirectory _dir = null!;
    private EdgeDatabase _database = null!;
    private CanteenLedger _canteen = null!;
    private DownlinkApplier _applier = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory();
        _database = EdgeDatabase.Open(_dir.File("edge.db"));
        _canteen = new CanteenLedger(_database);
        _applier = new DownlinkApplier(_database, [new RosterHandlers(), new LedgerHandlers(_canteen, new Announcements(_database))], "sch-0001", "almaty", NullLogger.Instance);
    }

    [TearDown]
    public void TearDown()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private DownlinkOutcome Apply(long from, params (string Kind, string Data)[] changes) => _applier.Apply(DownlinkApplierTests.Changes(from, changes));

    private long Count(string sql)
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static (string, string) Class(long id, string name) => ("class.upsert", $$"""{"classId":{{id}},"name":"{{name}}","grade":5}""");

    private static (string, string) Pupil(long id, long classId) => ("pupil.upsert", $$"""{"pupilId":{{id}},"classId":{{classId}},"displayName":"Pupil {{id}}","status":"active"}""");

    private static (string, string) Card(long number, string kind, long holder) =>
        ("card.upsert", $$"""{"cardNumber":{{number}},"holderKind":"{{kind}}","holderId":{{holder}},"status":"active"}""");

    private static (string, string) End(string classes, string pupils, string staff, string cards, string holidays = "[]", string classSchedules = "[]", string roleSchedules = "[]") =>
        ("snapshot.end", $$"""{"snapshotId":"snap-1","classes":{{classes}},"pupils":{{pupils}},"staff":{{staff}},"cards":{{cards}},"consents":[],"holidays":{{holidays}},"classSchedules":{{classSchedules}},"roleSchedules":{{roleSchedules}}}""");

    [Test]
    public void Class_remove_is_refused_while_active_pupils_are_in_it_and_otherwise_drops_the_class_and_its_schedule()
    {
        Apply(1, Class(73, "5B"), Class(74, "6A"), Pupil(480113, 73),
            ("schedule.replace", """{"appliesTo":"class","classId":74,"windows":[{"weekday":1,"from":"07:30","until":"13:30"}]}"""));
        var refused = Apply(5, ("class.remove", """{"classId":73}"""));
        Assert.That(refused.Rejected.Single().Reason, Does.Contain("class 73 still has active pupils"));
        Assert.That(Count("SELECT COUNT(*) FROM classes WHERE id = 73"), Is.EqualTo(1));

        var removed = Apply(6, ("class.remove", """{"classId":74}"""), ("pupil.leave", """{"pupilId":480113}"""), ("class.remove", """{"classId":73}"""));
        Assert.That(removed.Rejected, Is.Empty);
        Assert.That(Count("SELECT COUNT(*) FROM classes WHERE id = 74"), Is.Zero, "an empty class goes");
        Assert.That(Count("SELECT COUNT(*) FROM schedules"), Is.Zero, "with its schedule");
        Assert.That(Count("SELECT COUNT(*) FROM classes WHERE id = 73"), Is.EqualTo(1), "a class a left pupil points at stays as a row for the history");
        Assert.That(Apply(9, ("class.remove", """{"classId":74}""")).Rejected, Is.Empty, "removing again is harmless");
    }

    [Test]
    public void A_staff_card_from_the_centre_opens_the_gate_in_the_windows_of_the_holders_role()
    {
        var outcome = Apply(1,
            ("staff.upsert", $$"""{"staffId":{{Staff}},"displayName":"Нурлан Б.","role":"guard","status":"active"}"""),
            Card(3922000001, "staff", Staff),
            ("schedule.replace", """{"appliesTo":"role","role":"guard","windows":[{"weekday":1,"from":"06:00","until":"20:00"}]}"""));
        Assert.That(outcome.Rejected, Is.Empty);

        var snapshot = new AccessRepository(_database).LoadSnapshot();
        var monday0900 = new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);
        var inside = GatePolicy.Decide(snapshot, new PresenceTracker(), "main-1", Direction.Entry, 3922000001UL, monday0900);
        var night = GatePolicy.Decide(snapshot, new PresenceTracker(), "main-1", Direction.Entry, 3922000001UL, monday0900.AddHours(12));
        Assert.That((inside.Granted, inside.Holder?.Kind, inside.Holder?.Role), Is.EqualTo((true, HolderKind.Staff, "guard")));
        Assert.That((night.Granted, night.Reason), Is.EqualTo((false, DecisionReason.OutsideTimeWindow)), "outside the guard role's window");

        Apply(4, ("card.block", """{"cardNumber":3922000001}"""));
        var blocked = GatePolicy.Decide(new AccessRepository(_database).LoadSnapshot(), new PresenceTracker(), "main-1", Direction.Entry, 3922000001UL, monday0900);
        Assert.That(blocked.Reason, Is.EqualTo(DecisionReason.CardBlocked));
    }

    [Test]
    public void A_snapshot_removes_what_the_centre_no_longer_has_keeps_money_and_the_offices_visitor_cards_and_is_idempotent()
    {
        Apply(1, Class(73, "5B"), Class(74, "6A"), Pupil(480113, 73), Pupil(480114, 73), Card(3900000001, "pupil", 480113), Card(3900000002, "pupil", 480114),
            ("staff.upsert", $$"""{"staffId":{{Staff}},"displayName":"Нурлан Б.","role":"guard"}"""), Card(3922000001, "staff", Staff),
            ("holiday.set", """{"day":"2026-12-16","name":"Independence Day"}"""),
            ("schedule.replace", """{"appliesTo":"class","classId":74,"windows":[{"weekday":1,"from":"07:30","until":"13:30"}]}"""),
            ("topup", """{"topupId":"tu-1","pupilId":480114,"amountTiyn":200000}"""));
        using (var connection = _database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                INSERT INTO visitors(id, full_name, purpose, valid_from, valid_until) VALUES (7, 'Visitor', 'meeting', '2026-11-01T00:00:00Z', '2027-01-01T00:00:00Z');
                INSERT INTO credentials(card_number, holder_kind, holder_id, status, issued_at) VALUES (3950000007, 'visitor', 7, 'active', '2026-11-21T00:00:00Z');
                """;
            command.ExecuteNonQuery();
        }
        Assert.That(_applier.AppliedVersion(), Is.EqualTo(11));

        // The snapshot, interrupted after its first batch (the link dropped): the first half is applied and acknowledged.
        var first = Apply(12, ("snapshot.begin", """{"snapshotId":"snap-1","reason":"resync requested by an operator"}"""), Class(73, "5B"), Pupil(480113, 73));
        Assert.That(first.AppliedVersion, Is.EqualTo(14));
        Assert.That(Count("SELECT COUNT(*) FROM pupils WHERE status = 'active'"), Is.EqualTo(2), "nothing is removed before snapshot.end");
        // After the reconnect the centre re-sends from the applied version; an overlapping re-send is skipped by version.
        var rest = Apply(13, Class(73, "5B"), Pupil(480113, 73), Card(3900000001, "pupil", 480113), End("[73]", "[480113]", "[]", "[3900000001]"));
        Assert.That(rest.Rejected, Is.Empty);
        Assert.That(rest.AppliedChanges, Is.EqualTo(2));

        Assert.That(Count("SELECT status = 'left' FROM pupils WHERE id = 480114"), Is.EqualTo(1), "a pupil the centre no longer has is marked left, not deleted");
        Assert.That(Count("SELECT COUNT(*) FROM credentials WHERE status = 'active' AND holder_kind <> 'visitor'"), Is.EqualTo(1), "only the listed card stays active");
        Assert.That(Count("SELECT status = 'left' FROM staff"), Is.EqualTo(1));
        Assert.That(Count("SELECT COUNT(*) FROM credentials WHERE holder_kind = 'visitor' AND status = 'active'"), Is.EqualTo(1), "visitor cards are the office's");
        Assert.That(Count("SELECT COUNT(*) FROM classes WHERE id = 74"), Is.Zero);
        Assert.That(Count("SELECT COUNT(*) FROM schedules") + Count("SELECT COUNT(*) FROM holidays"), Is.Zero);
        Assert.That(_canteen.GetBalance(480114), Is.EqualTo(200_000), "money is never removed by a snapshot");
        Assert.That(Count("SELECT COUNT(*) FROM canteen_entries"), Is.GreaterThan(0));

        // The same end again at a later version (a second snapshot with the same content) removes nothing more.
        var again = Apply(17, End("[73]", "[480113]", "[]", "[3900000001]"));
        Assert.That(again.Rejected, Is.Empty);
        Assert.That(Count("SELECT COUNT(*) FROM pupils WHERE status = 'active'"), Is.EqualTo(1));
        Assert.That(Count("SELECT COUNT(*) FROM credentials WHERE status = 'active'"), Is.EqualTo(2));
    }

    [Test]
    public void A_snapshot_end_without_its_lists_is_rejected_and_removes_nothing()
    {
        Apply(1, Class(73, "5B"), Pupil(480113, 73));
        var outcome = Apply(3, ("snapshot.end", """{"snapshotId":"snap-1","classes":[73]}"""));
        Assert.That(outcome.Rejected.Single().Reason, Does.Contain("snapshot.end.pupils is missing"));
        Assert.That(Count("SELECT COUNT(*) FROM pupils WHERE status = 'active'"), Is.EqualTo(1));
    }

    [Test]
    public void Only_a_batch_starting_with_snapshot_begin_may_skip_versions_the_school_never_applied()
    {
        var gap = Apply(50, Class(73, "5B"));
        Assert.That(gap.Status, Is.EqualTo(DownlinkStatus.Gap));

        var jumped = Apply(50, ("snapshot.begin", """{"snapshotId":"snap-9","reason":"school has applied nothing"}"""), Class(73, "5B"), Pupil(480113, 73),
            End("[73]", "[480113]", "[]", "[]"));
        Assert.That(jumped.Status, Is.EqualTo(DownlinkStatus.Applied));
        Assert.That(jumped.AppliedVersion, Is.EqualTo(53));
        Assert.That(Count("SELECT COUNT(*) FROM pupils WHERE status = 'active'"), Is.EqualTo(1));
        Assert.That(Apply(54, Pupil(480114, 73)).Status, Is.EqualTo(DownlinkStatus.Applied), "the stream goes on from the snapshot");
    }
}
