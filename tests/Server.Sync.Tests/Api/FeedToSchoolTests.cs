using System.Globalization;
using Kezekshi.Server.Sync.Domain;
using Kezekshi.Server.Sync.Tests.Support;

namespace Kezekshi.Server.Sync.Tests.Api;

/// <summary>
/// What the centre's domain writes to a school's feed is what the school applies: roster changes made through the domain
/// services travel through the lead's downlink sender, a real mosquitto (TLS, per-school certificates) and the edge's
/// applier into the school's SQLite database — with the display name, never the full name.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable]
public sealed class FeedToSchoolTests : DomainFixture
{
    [Test]
    public async Task Roster_changes_made_at_the_centre_are_applied_at_the_school_in_order()
    {
        await using var rig = await SyncRig.StartAsync(SchoolA);
        // While the school is offline: a class, 20 pupils with cards, one card lost, one pupil leaving, a holiday, a schedule.
        var (created, _) = await Roster.PutClassAsync(SchoolA, new ClassRequest("5Б", 5), CancellationToken.None);
        var pupils = new List<PupilView>();
        for (int i = 0; i < 20; i++)
        {
            var pupil = await Roster.EnrolPupilAsync(new PupilRequest(created.ClassId, $"Айгерим{i} Сейтқали", null), CancellationToken.None);
            pupils.Add(pupil);
            await Roster.PutCardAsync(3_900_000_000L + i, new CardRequest("pupil", pupil.PupilId, null), CancellationToken.None);
        }
        await Roster.BlockCardAsync(3_900_000_003L, new CardBlockRequest("lost"), CancellationToken.None);
        await Roster.LeavePupilAsync(pupils[19].PupilId, CancellationToken.None);
        var notices = new Notices(Database);
        await notices.SetHolidayAsync(SchoolA, new DateOnly(2026, 12, 16), new HolidayRequest("Тәуелсіздік күні"), CancellationToken.None);
        await notices.ReplaceClassScheduleAsync(SchoolA, created.ClassId, new ScheduleRequest([new ScheduleWindowRequest(1, "07:30", "13:30")]), CancellationToken.None);
        long lastVersion = (await FeedAsync(SchoolA))[^1].Version;

        await rig.StartCentreAsync(Database, Ingestor);
        await rig.StartSchoolAsync();

        var until = DateTime.UtcNow.AddSeconds(60);
        while (await CountAsync($"SELECT downlink_acked_version FROM schools WHERE id = '{SchoolA}'") != lastVersion)
        {
            if (DateTime.UtcNow > until) Assert.Fail($"the school did not acknowledge version {lastVersion} within 60 s");
            await Task.Delay(250);
        }
        await rig.StopAsync();

        Assert.That(rig.Applier.AppliedVersion(), Is.EqualTo(lastVersion));
        Assert.That(await CountAsync($"SELECT count(*) FROM downlink_rejections WHERE school = '{SchoolA}'"), Is.Zero, "the school applied every change the centre wrote");
        Assert.That(rig.CountAtSchool("SELECT count(*) FROM pupils WHERE status = 'active'"), Is.EqualTo(19));
        Assert.That(rig.CountAtSchool($"SELECT count(*) FROM pupils WHERE id = {pupils[0].PupilId} AND full_name = 'Айгерим0 С.'"), Is.EqualTo(1),
            "the school holds the pseudonymous ID and the display name");
        Assert.That(rig.CountAtSchool("SELECT count(*) FROM pupils WHERE full_name LIKE '%Сейтқали%'"), Is.Zero, "the full name stays at the centre");
        Assert.That(rig.CountAtSchool("SELECT count(*) FROM credentials WHERE card_number = 3900000003 AND status = 'blocked'"), Is.EqualTo(1));
        Assert.That(rig.CountAtSchool("SELECT count(*) FROM holidays WHERE day = '2026-12-16'"), Is.EqualTo(1));
        Assert.That(rig.CountAtSchool(string.Create(CultureInfo.InvariantCulture,
            $"SELECT count(*) FROM schedules WHERE class_id = {created.ClassId} AND weekday = 1 AND from_time = '07:30'")), Is.EqualTo(1));
    }
}
