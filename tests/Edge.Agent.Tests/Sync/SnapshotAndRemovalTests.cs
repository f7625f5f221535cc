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
    private static (string, string) Begin(string id) => ("snapshot.begin", $$"""{"snapshotId":"{{id}}","reason":"resync requested by an operator"}""");

    private static (string, string) Keys(string id, int part, string lists) => ("snapshot.keys", $$"""{"snapshotId":"{{id}}","part":{{part}},{{lists}}}""");

    private static (string, string) SplitEnd(string id, int parts, string counts) => ("snapshot.end", $$$"""{"snapshotId":"{{{id}}}","parts":{{{parts}}},"counts":{{{{counts}}}}}""");

    private static (string, string) Menu(string id, params (long Id, string Name, long Price)[] items) =>
        ("menu.publish", $$"""{"menuId":"{{id}}","day":"2026-11-24","items":[{{string.Join(",", items.Select(i => $$"""{"menuItemId":{{i.Id}},"name":"{{i.Name}}","priceTiyn":{{i.Price}}}"""))}}]}""");

    private static (string, string) Announcement(string id) =>
        ("announcement", $$"""{"announcementId":"{{id}}","title":"Notice {{id}}","body":"text","showFrom":"2026-11-20T00:00:00+05:00","showUntil":"2026-12-31T23:59:59+05:00"}""");

    private const string AllCountsButPupilsAndCards = "\"classes\":1,\"staff\":0,\"consents\":0,\"holidays\":0,\"classSchedules\":0,\"roleSchedules\":0,\"announcements\":1,\"menuItems\":1";

    [Test]
    public void A_snapshot_split_into_key_parts_survives_an_agent_restart_between_parts_and_removes_exactly_what_is_unlisted()
    {
        Apply(1, Class(73, "5B"), Class(74, "6A"), Pupil(480113, 73), Pupil(480114, 73), Pupil(480115, 73),
            Card(3900000001, "pupil", 480113), Card(3900000002, "pupil", 480114), Card(3900000003, "pupil", 480115),
            ("staff.upsert", $$"""{"staffId":{{Staff}},"displayName":"Асель К.","role":"canteen"}"""),
            ("topup", """{"topupId":"tu-1","pupilId":480113,"amountTiyn":200000}"""),
            Menu("m-1", (31, "Палау", 45000), (32, "Суп", 30000)), Announcement("a-1"), Announcement("a-2"),
            ("holiday.set", """{"day":"2026-12-16","name":"Independence Day"}"""));
        Assert.That(_applier.AppliedVersion(), Is.EqualTo(14));
        // The office's own dish, and a sale of the centre's soup that must keep its price whatever the snapshot does.
        _canteen.UpsertMenuItem(new MenuItemDraft("tea", "Tea", 5_000));
        long soup = _canteen.GetMenu().Single(m => m.Code == "c-32").Id;
        var lunch = new DateTimeOffset(2026, 11, 23, 12, 30, 0, TimeSpan.FromHours(5));
        var shift = _canteen.OpenShift("till-1", Staff, 0, lunch.AddHours(-1));
        Assert.That(_canteen.Charge(new ChargeRequest("s-1", shift.Id, 480113, [new ChargeLine(soup)], lunch)).Succeeded, Is.True);

        // The snapshot's upserts and its first key part; then the agent stops (the process ends, the store stays).
        var first = Apply(15, Begin("snap-2"), Class(73, "5B"), Pupil(480113, 73), Pupil(480115, 73), Card(3900000001, "pupil", 480113),
            Card(3900000003, "pupil", 480115), Menu("m-2", (31, "Палау", 45000)), Announcement("a-2"),
            Keys("snap-2", 1, "\"classes\":[73],\"pupils\":[480113,480115],\"staff\":[],\"cards\":[3900000001]"));
        Assert.That((first.Rejected.Count, first.AppliedVersion), Is.EqualTo((0, 23)));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _database = EdgeDatabase.Open(_dir.File("edge.db"));
        _canteen = new CanteenLedger(_database);
        _applier = new DownlinkApplier(_database, [new RosterHandlers(), new LedgerHandlers(_canteen, new Announcements(_database))], "sch-0001", "almaty", NullLogger.Instance);
        Assert.That(Count("SELECT COUNT(*) FROM pupils WHERE status = 'active'"), Is.EqualTo(3), "nothing is removed before snapshot.end");
        Assert.That(Count("SELECT COUNT(*) FROM snapshot_keys WHERE snapshot_id = 'snap-2'"), Is.EqualTo(4), "the first part's keys survived the restart");

        // After the restart the centre re-sends from the applied version + 1 (a part re-sent is skipped by version).
        var rest = Apply(23, Keys("snap-2", 1, "\"classes\":[73],\"pupils\":[480113,480115],\"staff\":[],\"cards\":[3900000001]"),
            Keys("snap-2", 2, "\"cards\":[3900000003],\"consents\":[],\"holidays\":[],\"classSchedules\":[],\"roleSchedules\":[],\"announcements\":[\"a-2\"],\"menuItems\":[31]"),
            SplitEnd("snap-2", 2, "\"pupils\":2,\"cards\":2," + AllCountsButPupilsAndCards));
        Assert.That(rest.Rejected, Is.Empty);
        Assert.That(rest.AppliedChanges, Is.EqualTo(2));

        Assert.That(Count("SELECT COUNT(*) FROM pupils WHERE status = 'active'"), Is.EqualTo(2));
        Assert.That(Count("SELECT status = 'left' FROM pupils WHERE id = 480114"), Is.EqualTo(1), "the one unlisted pupil is marked left");
        Assert.That(Count("SELECT COUNT(*) FROM credentials WHERE status = 'active'"), Is.EqualTo(2));
        Assert.That(Count("SELECT COUNT(*) FROM credentials WHERE status = 'active' AND card_number IN (3900000001, 3900000003)"), Is.EqualTo(2),
            "exactly the two listed cards stay active");
        Assert.That(Count("SELECT COUNT(*) FROM classes WHERE id = 74") + Count("SELECT COUNT(*) FROM holidays"), Is.Zero);
        Assert.That(new Announcements(_database).Active(lunch).Select(a => a.Uid), Is.EqualTo(new[] { "a-2" }), "the announcement the centre no longer has is gone");
        var menu = _canteen.GetMenu(includeInactive: true).ToDictionary(m => m.Code);
        Assert.That((menu["c-31"].Active, menu["c-32"].Active, menu["tea"].Active), Is.EqualTo((true, false, true)),
            "the dish on no current centre menu is withdrawn; the office's own dish stays");
        Assert.That(menu["c-32"].Price, Is.EqualTo(30_000), "withdrawn, not repriced");
        Assert.That(Count("SELECT unit_price FROM canteen_charge_lines"), Is.EqualTo(30_000), "the recorded sale keeps its price");
        Assert.That(_canteen.GetBalance(480113), Is.EqualTo(170_000), "money is never removed by a snapshot");
        Assert.That(Count("SELECT COUNT(*) FROM snapshot_keys") + Count("SELECT COUNT(*) FROM snapshot_parts"), Is.Zero, "the keys are dropped once the end is applied");

        // Publishing the dish again brings it back.
        Apply(26, Menu("m-3", (32, "Суп", 32000)));
        Assert.That(_canteen.GetMenu().Single(m => m.Code == "c-32").Price, Is.EqualTo(32_000));
    }

    [Test]
    public void A_split_snapshot_end_whose_parts_or_counts_do_not_match_what_arrived_is_rejected_and_removes_nothing()
    {
        Apply(1, Class(73, "5B"), Pupil(480113, 73), Pupil(480114, 73), Announcement("a-1"), Menu("m-1", (31, "Палау", 45000)));

        var missingPart = Apply(6, Begin("snap-3"), Keys("snap-3", 1, "\"classes\":[73],\"pupils\":[480113]"),
            SplitEnd("snap-3", 2, "\"pupils\":1,\"cards\":0," + AllCountsButPupilsAndCards));
        Assert.That(missingPart.Rejected.Single().Reason, Does.Contain("announces 2 key parts but 1 arrived (missing: 2); nothing was removed"));

        var wrongCount = Apply(9, Begin("snap-4"), Keys("snap-4", 1, "\"classes\":[73],\"pupils\":[480113],\"announcements\":[],\"menuItems\":[]"),
            SplitEnd("snap-4", 1, "\"pupils\":2,\"cards\":0," + AllCountsButPupilsAndCards));
        string reason = wrongCount.Rejected.Single().Reason;
        Assert.That(reason, Does.Contain("pupils: 2 announced, 1 received").And.Contain("announcements: 1 announced, 0 received").And.Contain("nothing was removed"));

        var noCounts = Apply(12, Begin("snap-5"), Keys("snap-5", 1, "\"pupils\":[480113]"), ("snapshot.end", """{"snapshotId":"snap-5","parts":1}"""));
        Assert.That(noCounts.Rejected.Single().Reason, Does.Contain("snapshot.end.counts is missing"));

        Assert.That(Count("SELECT COUNT(*) FROM pupils WHERE status = 'active'"), Is.EqualTo(2), "no pupil was marked left");
        Assert.That(Count("SELECT COUNT(*) FROM announcements") + Count("SELECT COUNT(*) FROM canteen_menu_items WHERE active = 1"), Is.EqualTo(2));
        Assert.That(Count("SELECT COUNT(*) FROM inbox_rejections WHERE kind = 'snapshot.end'"), Is.EqualTo(3), "each recorded with its reason for the centre");
    }

    [Test]
    public void A_newer_snapshot_supersedes_a_half_received_older_one()
    {
        Apply(1, Class(73, "5B"), Pupil(480113, 73), Pupil(480114, 73));
        Apply(4, Begin("snap-old"), Keys("snap-old", 1, "\"classes\":[73],\"pupils\":[480113,480114]"));
        Assert.That(Count("SELECT COUNT(*) FROM snapshot_keys WHERE snapshot_id = 'snap-old'"), Is.EqualTo(3));

        // The centre started the school at a newer snapshot (a jump): the older one's keys must not count towards it.
        var newer = Apply(40, Begin("snap-new"), Pupil(480113, 73), Keys("snap-new", 1, "\"classes\":[73],\"pupils\":[480113],\"cards\":[]"),
            SplitEnd("snap-new", 1, "\"pupils\":1,\"cards\":0," + AllCountsButPupilsAndCards.Replace("\"announcements\":1,\"menuItems\":1", "\"announcements\":0,\"menuItems\":0", StringComparison.Ordinal)));
        Assert.That(newer.Rejected, Is.Empty);
        Assert.That(Count("SELECT COUNT(*) FROM pupils WHERE status = 'active'"), Is.EqualTo(1));
        Assert.That(Count("SELECT COUNT(*) FROM snapshot_keys") + Count("SELECT COUNT(*) FROM snapshot_parts"), Is.Zero);
    }

    [Test]
    public void The_agent_tells_the_centre_it_applies_split_snapshots()
    {
        Assert.That(_applier.Kinds, Is.SupersetOf(new[] { "snapshot.begin", "snapshot.keys", "snapshot.end" }));
    }
}
