using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Server.Sync.Domain;
using Kezekshi.Server.Sync.Tests.Support;

namespace Kezekshi.Server.Sync.Tests.EndToEnd;

/// <summary>
/// The centre's new downlink kinds through a real mosquitto (TLS, per-school certificates) to a real edge store: a staff
/// card issued at the centre opens the gate in its role's window; an operator's resync removes what the centre no longer
/// has; a gate PC that has applied nothing starts at a snapshot and never sees the history before it.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable]
public class SnapshotOverBrokerTests : DomainFixture
{
    private const ulong GuardCard = 3922000001;
    private static readonly DateTimeOffset s_monday0900 = new(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);

    private async Task<long> LatestAsync() => await CountAsync($"SELECT COALESCE(MAX(version), 0) FROM downlink_changes WHERE school = '{SchoolA}'");

    private async Task AckedAsync(long version) =>
        await Until(async () => await CountAsync($"SELECT downlink_acked_version FROM schools WHERE id = '{SchoolA}'") >= version, $"the school acknowledging version {version}");

    private static async Task Until(Func<Task<bool>> condition, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!await condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"not reached within 90 s: {what}");
            await Task.Delay(250);
        }
    }

    /// <summary>Two pupils with cards, a guard with a card and the guard role's window, written through the centre's domain.</summary>
    private async Task<(PupilView Stays, PupilView Goes, long Guard)> RosterAsync()
    {
        var stays = await EnrolAsync(SchoolA);
        var goes = await EnrolAsync(SchoolA, "Бекзат Ахмет");
        await Roster.PutCardAsync(3900000001, new CardRequest("pupil", stays.PupilId, null), CancellationToken.None);
        await Roster.PutCardAsync(3900000002, new CardRequest("pupil", goes.PupilId, null), CancellationToken.None);
        var guard = await new StaffRoster(Database).AddAsync(SchoolA, new StaffRequest("Нұрлан Әбенов", null, "guard"), CancellationToken.None);
        await Roster.PutCardAsync((long)GuardCard, new CardRequest("staff", guard.StaffId, null), CancellationToken.None);
        await new Notices(Database).ReplaceRoleScheduleAsync(SchoolA, "guard",
            new ScheduleRequest([new ScheduleWindowRequest(1, "06:00", "20:00")]), CancellationToken.None);
        return (stays, goes, guard.StaffId);
    }

    [Test]
    public async Task A_staff_card_from_the_centre_opens_the_gate_and_a_resync_removes_what_the_centre_no_longer_has()
    {
        await using var rig = await SyncRig.StartAsync(SchoolA);
        var (stays, goes, _) = await RosterAsync();
        await rig.StartCentreAsync(Database, Ingestor);
        await rig.StartSchoolAsync();
        await AckedAsync(await LatestAsync());

        var access = new AccessRepository(rig.EdgeDatabase).LoadSnapshot();
        var guardIn = GatePolicy.Decide(access, new PresenceTracker(), "main-1", Direction.Entry, GuardCard, s_monday0900);
        var guardAtNight = GatePolicy.Decide(access, new PresenceTracker(), "main-1", Direction.Entry, GuardCard, s_monday0900.AddHours(12));
        Assert.That((guardIn.Granted, guardIn.Holder?.Role), Is.EqualTo((true, "guard")), "the staff card issued at the centre opens the gate");
        Assert.That(guardAtNight.Reason, Is.EqualTo(DecisionReason.OutsideTimeWindow), "in the guard role's window only");
        Assert.That(rig.CountAtSchool("SELECT COUNT(*) FROM pupils WHERE status = 'active'"), Is.EqualTo(2));

        // The school's store and the centre drift apart: the gate PC was restored from a backup holding a pupil the centre
        // never had, and the centre's record of the second pupil was corrected without a change being sent.
        using (var connection = rig.EdgeDatabase.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"""
                INSERT INTO pupils(id, class_id, full_name, status) VALUES (777, {stays.ClassId}, 'From an old backup', 'active');
                INSERT INTO credentials(card_number, holder_kind, holder_id, status, issued_at) VALUES (3900000777, 'pupil', 777, 'active', '2026-09-01T00:00:00Z');
                INSERT INTO announcements(uid, text, valid_from, valid_until, created_at) VALUES ('a-withdrawn-meanwhile', 'Old notice', '2026-11-01T00:00:00Z', '2027-01-01T00:00:00Z', '2026-11-01T00:00:00Z');
                INSERT INTO canteen_menu_items(code, name, price) VALUES ('c-99', 'Dropped dish', 40000), ('tea', 'Tea', 5000);
                """;
            command.ExecuteNonQuery();
        }
        await ExecuteAsync($"UPDATE pupils SET status = 'left' WHERE id = {goes.PupilId}");
        // 1,200 more pupils with cards (bulk-loaded, no changes sent): their keys need more than one snapshot.keys part.
        await ExecuteAsync($"""
            INSERT INTO pupils(id, full_name, display_name, school, class_id)
            SELECT 200000000000000 + g, 'Pupil ' || g, 'Pupil ' || g || '.', '{SchoolA}', {stays.ClassId} FROM generate_series(1, 1200) g;
            INSERT INTO cards(card_number, holder_kind, holder_id, status) SELECT 3100000000 + g, 'pupil', 200000000000000 + g, 'active' FROM generate_series(1, 1200) g;
            """);

        var resync = await new Snapshots(Database).ResyncAsync(SchoolA, new ResyncRequest("gate PC restored from a backup"), CancellationToken.None);
        await AckedAsync(resync.ToVersion);

        Assert.That(await CountAsync($"SELECT COUNT(*) FROM downlink_changes WHERE school = '{SchoolA}' AND type = 'snapshot.keys' AND version > {resync.FromVersion}"),
            Is.GreaterThan(1), "the key lists came in several parts");
        Assert.That(rig.CountAtSchool("SELECT COUNT(*) FROM pupils WHERE status = 'active'"), Is.EqualTo(1 + 1200));
        Assert.That(rig.CountAtSchool($"SELECT status = 'left' FROM pupils WHERE id = {goes.PupilId}"), Is.EqualTo(1), "the pupil the centre no longer has is marked left");
        Assert.That(rig.CountAtSchool("SELECT status = 'left' FROM pupils WHERE id = 777"), Is.EqualTo(1), "so is the one from the old backup");
        Assert.That(rig.CountAtSchool("SELECT COUNT(*) FROM credentials WHERE status = 'active'"), Is.EqualTo(2 + 1200), "the remaining pupils' cards and the guard's");
        Assert.That(rig.CountAtSchool("SELECT COUNT(*) FROM announcements"), Is.Zero, "the announcement the centre no longer has is gone");
        Assert.That(rig.CountAtSchool("SELECT COUNT(*) FROM canteen_menu_items WHERE active = 1 AND code = 'tea'") + rig.CountAtSchool("SELECT COUNT(*) FROM canteen_menu_items WHERE active = 0 AND code = 'c-99'"),
            Is.EqualTo(2), "the centre's dish on no current menu is withdrawn, the office's own stays");
        Assert.That(rig.CountAtSchool("SELECT COUNT(*) FROM snapshot_keys"), Is.Zero);
        var after = new AccessRepository(rig.EdgeDatabase).LoadSnapshot();
        Assert.That(GatePolicy.Decide(after, new PresenceTracker(), "main-1", Direction.Entry, 3900000777, s_monday0900).Granted, Is.False);
        Assert.That(GatePolicy.Decide(after, new PresenceTracker(), "main-1", Direction.Entry, GuardCard, s_monday0900).Granted, Is.True);
        Assert.That(rig.Applier.AppliedVersion(), Is.EqualTo(resync.ToVersion));
        Assert.That(await CountAsync($"SELECT COUNT(*) FROM downlink_rejections WHERE school = '{SchoolA}'"), Is.Zero);
    }

    [Test]
    public async Task A_gate_PC_that_has_applied_nothing_starts_at_a_snapshot_and_never_sees_the_history_before_it()
    {
        await using var rig = await SyncRig.StartAsync(SchoolA);
        var (stays, goes, _) = await RosterAsync();
        await Roster.LeavePupilAsync(goes.PupilId, CancellationToken.None);
        long history = await LatestAsync();

        await rig.StartCentreAsync(Database, Ingestor, snapshotAbove: 3);
        await rig.StartSchoolAsync();
        await Until(async () => await LatestAsync() > history && rig.Applier.AppliedVersion() == await LatestAsync(), "the snapshot written and applied");

        Assert.That(await CountAsync($"SELECT MIN(version) FROM downlink_changes WHERE school = '{SchoolA}' AND type = 'snapshot.begin'"), Is.EqualTo(history + 1));
        Assert.That(rig.CountAtSchool("SELECT COUNT(*) FROM pupils"), Is.EqualTo(1), "the pupil who left before the snapshot was never sent");
        Assert.That(rig.CountAtSchool($"SELECT COUNT(*) FROM pupils WHERE id = {stays.PupilId} AND status = 'active'"), Is.EqualTo(1));
        Assert.That(rig.CountAtSchool("SELECT COUNT(*) FROM credentials WHERE status = 'active'"), Is.EqualTo(2));
        Assert.That(rig.CountAtSchool("SELECT COUNT(*) FROM schedules WHERE applies_to = 'role' AND role = 'guard'"), Is.EqualTo(1));
    }
}
