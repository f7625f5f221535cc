using System.Globalization;
using Kezekshi.Server.Sync.Downlink;
using Kezekshi.Server.Sync.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Server.Sync.Tests.EndToEnd;

/// <summary>
/// Changes made at the centre reach a school through a real mosquitto (TLS, per-school certificates) and a real PostgreSQL:
/// on hello the centre sends what the school lacks, in version order; new changes are pushed while it is online; a change
/// the school cannot apply is reported back and the stream goes on; the school's applied version is recorded.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable]
public class DownlinkTests : CentreFixture
{
    private async Task AddChangeAsync(long version, string kind, string data) =>
        await ExecuteAsync(string.Create(CultureInfo.InvariantCulture,
            $"INSERT INTO downlink_changes(school, version, type, schema_version, payload) VALUES ('{SchoolA}', {version}, '{kind}', 1, '{data}'::jsonb)"));

    [Test]
    public async Task Changes_made_while_the_school_was_offline_arrive_in_order_and_new_ones_are_pushed()
    {
        await using var rig = await SyncRig.StartAsync(SchoolA);
        // While the school is offline: a new class, 300 new pupils with cards, and a change this school cannot apply.
        long version = 0;
        await AddChangeAsync(++version, "class.upsert", """{"classId":73,"name":"5B","grade":5}""");
        for (int pupil = 1; pupil <= 300; pupil++)
        {
            await AddChangeAsync(++version, "pupil.upsert", $$"""{"pupilId":{{480000 + pupil}},"classId":73,"displayName":"Pupil {{pupil}}"}""");
            await AddChangeAsync(++version, "card.upsert", $$"""{"cardNumber":{{3900000000L + pupil}},"holderKind":"pupil","holderId":{{480000 + pupil}}}""");
        }
        await AddChangeAsync(++version, "weather.report", """{"sunny":true}""");
        long offlineChanges = version;

        await rig.StartCentreAsync(Database, Ingestor);
        await rig.StartSchoolAsync();

        await Until(async () => await CountAsync($"SELECT downlink_acked_version FROM schools WHERE id = '{SchoolA}'") == offlineChanges, TimeSpan.FromSeconds(60));
        Assert.That(rig.CountAtSchool("SELECT COUNT(*) FROM pupils"), Is.EqualTo(300));
        Assert.That(rig.CountAtSchool("SELECT COUNT(*) FROM credentials WHERE status = 'active'"), Is.EqualTo(300));
        Assert.That(await CountAsync($"SELECT COUNT(*) FROM downlink_rejections WHERE school = '{SchoolA}' AND version = {offlineChanges} AND reason LIKE 'unknown-kind: weather.report%'"),
            Is.EqualTo(1), "the rejected change is reported to the centre");
        Assert.That(await CountAsync($"SELECT COUNT(*) FROM schools WHERE id = '{SchoolA}' AND last_hello IS NOT NULL"), Is.EqualTo(1));

        // Online: a card is blocked at the centre and reaches the school without a reconnect.
        await AddChangeAsync(++version, "card.block", """{"cardNumber":3900000007}""");
        await Until(() => Task.FromResult(rig.CountAtSchool("SELECT COUNT(*) FROM credentials WHERE status = 'blocked'")), 1, TimeSpan.FromSeconds(30));
        await Until(async () => await CountAsync($"SELECT downlink_acked_version FROM schools WHERE id = '{SchoolA}'") == version, TimeSpan.FromSeconds(30));
        Assert.That(rig.Applier.AppliedVersion(), Is.EqualTo(version));
    }

    [Test]
    public async Task A_hello_from_an_unregistered_school_or_a_malformed_ack_is_dead_lettered()
    {
        var sessions = new SchoolSessions(new DownlinkFeed(Database), Ingestor, (_, _, _) => Task.FromResult(true), NullLogger<SchoolSessions>.Instance);
        await sessions.OnHelloAsync("kz/v1/almaty/sch-9999/up/hello", "{}"u8.ToArray(), CancellationToken.None);
        await sessions.OnAppliedAsync($"kz/v1/almaty/{SchoolA}/up/acks", """{"schemaVersion":1,"type":"applied","school":"sch-0001","region":"almaty","appliedVersion":-4}"""u8.ToArray(), CancellationToken.None);
        await sessions.OnHelloAsync($"kz/v1/almaty/{SchoolA}/up/hello", "{\"schemaVersion\":1,\"type\":\"hel"u8.ToArray(), CancellationToken.None);
        Assert.That(await CountAsync("SELECT COUNT(*) FROM dead_letters WHERE reason = 'unknown-school'"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT COUNT(*) FROM dead_letters WHERE reason = 'invalid-envelope'"), Is.EqualTo(2));
        Assert.That(await CountAsync($"SELECT downlink_acked_version FROM schools WHERE id = '{SchoolA}'"), Is.Zero);
    }

    private static async Task Until(Func<Task<bool>> condition, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"not reached within {limit.TotalSeconds} s");
            await Task.Delay(250);
        }
    }

    private static Task Until(Func<Task<long>> value, long expected, TimeSpan limit) => Until(async () => await value() == expected, limit);
}
