using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Ledgers.Tableau;
using Kezekshi.Edge.Agent.Sync;
using Kezekshi.Server.Sync.Domain;
using Kezekshi.Server.Sync.Tests.Support;

namespace Kezekshi.Server.Sync.Tests.Api;

/// <summary>
/// The downlink kinds the centre did not write before — staff, holiday removal, role schedules, announcement
/// withdrawal — written through the domain services, carried by a real mosquitto and applied by the school's inbox.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable]
public sealed class NewKindsToSchoolTests : DomainFixture
{
    [Test]
    public async Task Staff_holidays_role_schedules_and_withdrawn_announcements_are_applied_at_the_school()
    {
        await using var rig = await SyncRig.StartAsync(SchoolA);
        var staff = new StaffRoster(Database);
        var notices = new Notices(Database);
        var guard = await staff.AddAsync(SchoolA, new StaffRequest("Нұрлан Әбенов", null, "guard"), CancellationToken.None);
        var cook = await staff.AddAsync(SchoolA, new StaffRequest("Гүлнар Сәрсенова", null, "canteen"), CancellationToken.None);
        await staff.UpdateAsync(guard.StaffId, new StaffRequest(null, null, "teacher"), CancellationToken.None);
        await staff.LeaveAsync(cook.StaffId, CancellationToken.None);
        await notices.SetHolidayAsync(SchoolA, new DateOnly(2026, 12, 16), new HolidayRequest("Тәуелсіздік күні"), CancellationToken.None);
        await notices.SetHolidayAsync(SchoolA, new DateOnly(2026, 12, 17), new HolidayRequest("Тәуелсіздік күні"), CancellationToken.None);
        await notices.RemoveHolidayAsync(SchoolA, new DateOnly(2026, 12, 17), CancellationToken.None);
        await notices.ReplaceRoleScheduleAsync(SchoolA, "guard", new ScheduleRequest([new ScheduleWindowRequest(1, "06:30", "20:00")]), CancellationToken.None);
        await notices.AnnounceAsync(new AnnouncementRequest("a-301", [SchoolA], null, "Короткий день", "24.11 уроки до 12:00",
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2)), CancellationToken.None);
        await notices.AnnounceAsync(new AnnouncementRequest("a-302", [SchoolA], null, "Собрание", "Родительское собрание в 18:00",
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2)), CancellationToken.None);
        await notices.WithdrawAnnouncementAsync("a-301", new AnnouncementWithdrawRequest([SchoolA], null), CancellationToken.None);
        long lastVersion = (await FeedAsync(SchoolA))[^1].Version;

        await rig.StartCentreAsync(Database, Ingestor);
        await rig.StartSchoolAsync(new LedgerHandlers(new CanteenLedger(rig.EdgeDatabase), new Announcements(rig.EdgeDatabase)));
        var until = DateTime.UtcNow.AddSeconds(60);
        while (await CountAsync($"SELECT downlink_acked_version FROM schools WHERE id = '{SchoolA}'") != lastVersion)
        {
            if (DateTime.UtcNow > until) Assert.Fail($"the school did not acknowledge version {lastVersion} within 60 s");
            await Task.Delay(250);
        }
        await rig.StopAsync();

        Assert.That(await CountAsync($"SELECT count(*) FROM downlink_rejections WHERE school = '{SchoolA}'"), Is.Zero, "the school applied every change");
        Assert.That(rig.CountAtSchool($"SELECT count(*) FROM staff WHERE id = {guard.StaffId} AND role = 'teacher' AND status = 'active' AND full_name = 'Нұрлан Ә.'"), Is.EqualTo(1));
        Assert.That(rig.CountAtSchool($"SELECT count(*) FROM staff WHERE id = {cook.StaffId} AND status = 'left'"), Is.EqualTo(1));
        Assert.That(rig.CountAtSchool("SELECT count(*) FROM staff WHERE full_name LIKE '%Әбенов%'"), Is.Zero, "the full name stays at the centre");
        Assert.That(rig.CountAtSchool("SELECT count(*) FROM holidays"), Is.EqualTo(1), "the removed holiday is a school day again");
        Assert.That(rig.CountAtSchool("SELECT count(*) FROM schedules WHERE applies_to = 'role' AND role = 'guard' AND from_time = '06:30'"), Is.EqualTo(1));
        Assert.That(rig.CountAtSchool("SELECT count(*) FROM announcements WHERE uid = 'a-301'"), Is.Zero, "withdrawn");
        Assert.That(rig.CountAtSchool("SELECT count(*) FROM announcements WHERE uid = 'a-302'"), Is.EqualTo(1));
    }
}
