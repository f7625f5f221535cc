using System.Net;
using System.Text;
using System.Text.Json;
using Kezekshi.Server.Sync.Downlink;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Server.Sync.Tests.Api;

/// <summary>
/// The downlink kinds the centre produces now (docs/centre-api.md, docs/sync-protocol.md §5.1, §5.4), over HTTP against the
/// real service and PostgreSQL: <c>class.remove</c>, staff cards, <c>template.delete</c> with its purge confirmation, and
/// snapshots on an operator's resync or for a school that has applied nothing.
/// </summary>
public sealed class CentreKindsApiTests : ApiFixture
{
    private async Task<long> ClassAsync(string school, string name)
    {
        var created = await PostAsync($"/api/schools/{school}/classes", $$"""{ "name": "{{name}}", "grade": 6 }""");
        return created.Body.GetProperty("classId").GetInt64();
    }

    private async Task<long> StaffAsync(string school, string role = "guard")
    {
        var added = await PostAsync($"/api/schools/{school}/staff", $$"""{ "fullName": "Нұрлан Әбенов", "role": "{{role}}" }""");
        Assert.That(added.Status, Is.EqualTo(HttpStatusCode.Created), added.Body.ToString());
        return added.Body.GetProperty("staffId").GetInt64();
    }

    private async Task ConsentAsync(long pupil, string consentId) =>
        Assert.That((await PostAsync("/api/consents", $$"""
            { "consentId": "{{consentId}}", "pupilId": {{pupil}}, "givenBy": "pupil", "purposes": ["access", "attendance"], "documentSha256": "{{new string('b', 64)}}", "operator": "office" }
            """)).Status, Is.EqualTo(HttpStatusCode.Created));

    private async Task PlaceAsync(long pupil, string school, string templateId, string modality, string consentId) =>
        Assert.That((await PostAsync($"/api/pupils/{pupil}/templates", $$"""
            { "templateId": "{{templateId}}", "school": "{{school}}", "modality": "{{modality}}", "model": "mbf-512@1", "consentId": "{{consentId}}",
              "keyId": "k-00112233aabbccdd", "alg": "ECDH-ES-P256+HKDF-SHA256+A256GCM", "sourceSchool": "sch-0001", "epk": "ZXBr",
              "nonce": "bm9uY2Vub25jZTEy", "ciphertext": "Y2lwaGVydGV4dA==", "tag": "dGFndGFndGFndGFndGFn" }
            """)).Status, Is.EqualTo(HttpStatusCode.Created));

    /// <summary>The keys per list a snapshot carries, gathered from its <c>snapshot.keys</c> parts (docs/sync-protocol.md §5.4).</summary>
    private static Dictionary<string, List<JsonElement>> KeysOf(IEnumerable<(long Version, string Kind, JsonElement Data)> snapshot)
    {
        var keys = new Dictionary<string, List<JsonElement>>(StringComparer.Ordinal);
        foreach (var (_, _, data) in snapshot.Where(c => c.Kind == "snapshot.keys"))
            foreach (var list in data.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Array))
            {
                if (!keys.TryGetValue(list.Name, out var all)) keys[list.Name] = all = [];
                all.AddRange(list.Value.EnumerateArray());
            }
        return keys;
    }

    [Test]
    public async Task A_class_is_removed_only_when_no_active_pupil_is_left_in_it_and_the_school_gets_class_remove_once()
    {
        long pupil = await EnrolOverHttpAsync(SchoolA);
        long classId = (await GetAsync($"/api/pupils/{pupil}")).Body.GetProperty("classId").GetInt64();
        long other = await ClassAsync(SchoolA, "6А");

        var refused = await SendAsync(HttpMethod.Delete, $"/api/schools/{SchoolA}/classes/{classId}", null, AdminKey);
        Assert.That(refused.Status, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That(refused.Body.GetProperty("detail").GetString(), Does.Contain("still has 1 active pupil:").And.Contain("PUT /api/pupils"));

        Assert.That((await PutAsync($"/api/pupils/{pupil}", $$"""{ "classId": {{other}}, "fullName": "Айгерим Сейтқали" }""")).Status, Is.EqualTo(HttpStatusCode.OK));
        var removed = await SendAsync(HttpMethod.Delete, $"/api/schools/{SchoolA}/classes/{classId}", null, AdminKey);
        var again = await SendAsync(HttpMethod.Delete, $"/api/schools/{SchoolA}/classes/{classId}", null, AdminKey);
        Assert.That((removed.Status, again.Status), Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.OK)));
        var feed = await FeedAsync(SchoolA);
        Assert.That(feed.Count(c => c.Kind == "class.remove"), Is.EqualTo(1), "removing again sends nothing");
        Assert.That(feed[^1].Kind, Is.EqualTo("class.remove"));
        Assert.That(feed[^1].Data.GetProperty("classId").GetInt64(), Is.EqualTo(classId));
        Assert.That((await GetAsync($"/api/schools/{SchoolA}/classes")).Body.EnumerateArray().Select(c => c.GetProperty("classId").GetInt64()), Is.EqualTo(new[] { other }));

        var enrolInRemoved = await PostAsync("/api/pupils", $$"""{ "classId": {{classId}}, "fullName": "Бекзат Ахмет" }""");
        Assert.That(enrolInRemoved.FieldError("classId"), Does.Contain("was removed"));
        var badId = await SendAsync(HttpMethod.Delete, $"/api/schools/{SchoolA}/classes/five", null, AdminKey);
        var elsewhere = await SendAsync(HttpMethod.Delete, $"/api/schools/{SchoolB}/classes/{other}", null, AdminKey);
        Assert.That(badId.FieldError("classId"), Does.Contain("positive whole number"));
        Assert.That(elsewhere.Status, Is.EqualTo(HttpStatusCode.NotFound), "a class of another school is not this school's");

        // Creating the class again brings it back (same id) and tells the school.
        var back = await PostAsync($"/api/schools/{SchoolA}/classes", """{ "name": "5Б", "grade": 5 }""");
        Assert.That(back.Body.GetProperty("classId").GetInt64(), Is.EqualTo(classId));
        Assert.That((await FeedAsync(SchoolA))[^1].Kind, Is.EqualTo("class.upsert"));
    }

    [Test]
    public async Task A_staff_card_is_issued_and_blocked_at_the_centre_and_reaches_the_holders_school()
    {
        long staff = await StaffAsync(SchoolA);
        var issued = await PutAsync("/api/cards/3922000001", $$"""{ "holderKind": "staff", "holderId": {{staff}} }""");
        Assert.That(issued.Status, Is.EqualTo(HttpStatusCode.Created), issued.Body.ToString() + await issued.Response.Content.ReadAsStringAsync());
        var upsert = (await FeedAsync(SchoolA))[^1];
        Assert.That(upsert.Kind, Is.EqualTo("card.upsert"));
        Assert.That((upsert.Data.GetProperty("holderKind").GetString(), upsert.Data.GetProperty("holderId").GetInt64()), Is.EqualTo(("staff", staff)));

        var blocked = await PostAsync("/api/cards/3922000001/block", """{ "status": "lost" }""");
        Assert.That(blocked.Body.GetProperty("status").GetString(), Is.EqualTo("lost"));
        Assert.That((await FeedAsync(SchoolA))[^1].Kind, Is.EqualTo("card.block"));

        // The card handed to a guard of another school: blocked at the first, issued at the second.
        long guardB = await StaffAsync(SchoolB);
        await PutAsync("/api/cards/3922000001", $$"""{ "holderKind": "staff", "holderId": {{staff}} }""");
        Assert.That((await PutAsync("/api/cards/3922000001", $$"""{ "holderKind": "staff", "holderId": {{guardB}} }""")).Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await FeedAsync(SchoolA))[^1].Kind, Is.EqualTo("card.block"));
        Assert.That((await FeedAsync(SchoolB))[^1].Data.GetProperty("holderId").GetInt64(), Is.EqualTo(guardB));

        // A staff member who left gets no active card, and their cards are blocked at the centre too.
        await PostAsync($"/api/staff/{guardB}/leave", null);
        Assert.That((await GetAsync("/api/cards/3922000001")).Body.GetProperty("status").GetString(), Is.EqualTo("blocked"));
        var toLeaver = await PutAsync("/api/cards/3922000002", $$"""{ "holderKind": "staff", "holderId": {{guardB}} }""");
        Assert.That(toLeaver.Status, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That(toLeaver.Body.GetProperty("detail").GetString(), Does.Contain("has left"));
        var tooBig = await PutAsync("/api/cards/99999999999", $$"""{ "holderKind": "staff", "holderId": {{staff}} }""");
        Assert.That(tooBig.FieldError("cardNumber"), Does.Contain("4294967295"));
    }

    [Test]
    public async Task Template_delete_reaches_only_the_school_holding_it_carries_no_template_data_and_its_purge_confirmation_is_shown()
    {
        long pupil = await EnrolOverHttpAsync(SchoolA);
        await ConsentAsync(pupil, "cs-td");
        await PlaceAsync(pupil, SchoolB, "sch-0001.t1", "face", "cs-td");
        await PlaceAsync(pupil, SchoolB, "sch-0001.t2", "palm", "cs-td");
        long feedA = (await FeedAsync(SchoolA)).Count;

        var noOperator = await PostAsync($"/api/pupils/{pupil}/template-deletions", $$"""{ "school": "{{SchoolB}}", "modality": "face" }""");
        var badModality = await PostAsync($"/api/pupils/{pupil}/template-deletions", $$"""{ "school": "{{SchoolB}}", "modality": "iris", "operator": "registrar" }""");
        var both = await PostAsync($"/api/pupils/{pupil}/template-deletions", $$"""{ "school": "{{SchoolB}}", "modality": "face", "templateId": "sch-0001.t1", "operator": "registrar" }""");
        var badSchool = await PostAsync($"/api/pupils/{pupil}/template-deletions", """{ "school": "Sch 2", "operator": "registrar" }""");
        var nothingThere = await PostAsync($"/api/pupils/{pupil}/template-deletions", $$"""{ "school": "{{SchoolA}}", "operator": "registrar" }""");
        Assert.That(noOperator.FieldError("operator"), Does.Contain("required"));
        Assert.That(badModality.FieldError("modality"), Does.Contain("'face' or 'palm'"));
        Assert.That(both.FieldError("modality"), Does.Contain("not both"));
        Assert.That(badSchool.FieldError("school"), Does.Contain("school ID"));
        Assert.That(nothingThere.Status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(nothingThere.Body.GetProperty("detail").GetString(), Does.Contain("enrolled at the school itself"));

        var requested = await PostAsync($"/api/pupils/{pupil}/template-deletions",
            $$"""{ "school": "{{SchoolB}}", "modality": "face", "reason": "the parent asked for the face template to be deleted", "operator": "registrar" }""");
        Assert.That(requested.Status, Is.EqualTo(HttpStatusCode.Accepted), requested.Body.ToString());
        var deletion = requested.Body.EnumerateArray().Single();
        string deletionId = deletion.GetProperty("deletionId").GetString()!;
        Assert.That(deletion.GetProperty("templateId").GetString(), Is.EqualTo("sch-0001.t1"));

        var atB = (await FeedAsync(SchoolB))[^1];
        Assert.That(atB.Kind, Is.EqualTo("template.delete"));
        Assert.That((atB.Data.GetProperty("deletionId").GetString(), atB.Data.GetProperty("templateId").GetString()), Is.EqualTo((deletionId, "sch-0001.t1")));
        Assert.That(atB.Data.ToString(), Does.Not.Contain("ciphertext").And.Not.Contain("epk"), "no template data in a deletion");
        Assert.That((await FeedAsync(SchoolA)).Count, Is.EqualTo(feedA), "the pupil's own school and its consent are untouched");
        Assert.That((await GetAsync($"/api/pupils/{pupil}/placements")).Body.EnumerateArray().Select(p => p.GetProperty("templateId").GetString()),
            Is.EqualTo(new[] { "sch-0001.t2" }), "the palm template is still placed there");
        Assert.That((await GetAsync($"/api/consents/cs-td")).Body.GetProperty("status").GetString(), Is.EqualTo("granted"));

        // The school confirms the purge in up/acks like a revocation's, under the deletion's id.
        await new DownlinkFeed(Database).RecordAppliedAsync(new SchoolApplied(SchoolB, "almaty", atB.Version, [], [(deletionId, 1, DateTimeOffset.UtcNow)]), CancellationToken.None);
        var listed = (await GetAsync($"/api/pupils/{pupil}/template-deletions")).Body.EnumerateArray().Single();
        Assert.That(listed.GetProperty("templatesPurged").GetInt32(), Is.EqualTo(1));
        Assert.That(listed.GetProperty("purgedAt").ValueKind, Is.EqualTo(JsonValueKind.String));
    }

    [Test]
    public async Task A_resync_writes_the_schools_whole_current_state_between_snapshot_begin_and_end()
    {
        long stays = await EnrolOverHttpAsync(SchoolA);
        long leaves = await EnrolOverHttpAsync(SchoolA, "Бекзат Ахмет");
        long classId = (await GetAsync($"/api/pupils/{stays}")).Body.GetProperty("classId").GetInt64();
        long empty = await ClassAsync(SchoolA, "9В");
        await SendAsync(HttpMethod.Delete, $"/api/schools/{SchoolA}/classes/{empty}", null, AdminKey);
        await PutAsync("/api/cards/3900000001", $$"""{ "holderKind": "pupil", "holderId": {{stays}} }""");
        await PutAsync("/api/cards/3900000002", $$"""{ "holderKind": "pupil", "holderId": {{leaves}} }""");
        long guard = await StaffAsync(SchoolA);
        await PutAsync("/api/cards/3922000001", $$"""{ "holderKind": "staff", "holderId": {{guard}} }""");
        await ConsentAsync(stays, "cs-r1");
        await PutAsync($"/api/pupils/{stays}/limit", """{ "dailyLimitTiyn": 150000 }""");
        await PostAsync("/api/topups", $$"""{ "topupId": "tu-r1", "pupilId": {{stays}}, "amountTiyn": 200000, "source": "kaspi" }""");
        await PutAsync($"/api/schools/{SchoolA}/holidays/2026-12-16", """{ "name": "Independence Day" }""");
        await PutAsync($"/api/schools/{SchoolA}/holidays/2026-12-17", """{ "name": "Independence Day" }""");
        await SendAsync(HttpMethod.Delete, $"/api/schools/{SchoolA}/holidays/2026-12-17", null, AdminKey);
        await PutAsync($"/api/schools/{SchoolA}/schedules/classes/{classId}", """{ "windows": [{ "weekday": 1, "from": "07:30", "until": "13:30" }] }""");
        await PutAsync($"/api/schools/{SchoolA}/schedules/roles/guard", """{ "windows": [{ "weekday": 1, "from": "06:00", "until": "20:00" }] }""");
        string tomorrow = DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        Assert.That((await PutAsync($"/api/schools/{SchoolA}/menus/{tomorrow}", """{ "menuId": "m-r1", "items": [{ "menuItemId": 31, "name": "Палау", "priceTiyn": 45000 }, { "menuItemId": 32, "name": "Суп", "priceTiyn": 30000 }] }""")).Status,
            Is.EqualTo(HttpStatusCode.OK));
        string showFrom = DateTimeOffset.UtcNow.AddDays(-1).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        string until = DateTimeOffset.UtcNow.AddDays(7).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        foreach (string id in new[] { "a-r1", "a-r2" })
            Assert.That((await PostAsync("/api/announcements", $$"""{ "announcementId": "{{id}}", "schools": ["{{SchoolA}}"], "title": "Notice", "body": "text", "showFrom": "{{showFrom}}", "showUntil": "{{until}}" }""")).Status,
                Is.EqualTo(HttpStatusCode.Created));
        await PostAsync("/api/announcements/a-r2/withdraw", $$"""{ "schools": ["{{SchoolA}}"] }""");
        await PostAsync($"/api/pupils/{leaves}/leave", null);

        var badSchool = await PostAsync("/api/schools/SCH/resync", null);
        var unknown = await PostAsync("/api/schools/sch-0404/resync", null);
        var resync = await PostAsync($"/api/schools/{SchoolA}/resync", """{ "reason": "gate PC restored from a backup" }""");
        Assert.That(badSchool.FieldError("school"), Does.Contain("school ID"));
        Assert.That(unknown.Status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(resync.Status, Is.EqualTo(HttpStatusCode.Accepted), resync.Body.ToString());
        long from = resync.Body.GetProperty("fromVersion").GetInt64(), to = resync.Body.GetProperty("toVersion").GetInt64();
        Assert.That((resync.Body.GetProperty("pupils").GetInt32(), resync.Body.GetProperty("cards").GetInt32(), resync.Body.GetProperty("staff").GetInt32()), Is.EqualTo((1, 2, 1)));

        var snapshot = (await FeedAsync(SchoolA)).Where(c => c.Version >= from).ToList();
        Assert.That(snapshot[^1].Version, Is.EqualTo(to), "the snapshot is the end of the feed, versions contiguous");
        Assert.That((snapshot[0].Kind, snapshot[^1].Kind), Is.EqualTo(("snapshot.begin", "snapshot.end")));
        Assert.That(snapshot[0].Data.GetProperty("reason").GetString(), Is.EqualTo("gate PC restored from a backup"));
        Assert.That(snapshot.Select(c => c.Kind).Distinct(), Is.EquivalentTo(new[]
        {
            "snapshot.begin", "class.upsert", "pupil.upsert", "limits.set", "staff.upsert", "card.upsert", "consent.grant", "schedule.replace", "holiday.set",
            "menu.publish", "announcement", "topup", "snapshot.keys", "snapshot.end",
        }));
        var keys = KeysOf(snapshot);
        var end = snapshot[^1].Data;
        Assert.That(end.GetProperty("parts").GetInt32(), Is.EqualTo(snapshot.Count(c => c.Kind == "snapshot.keys")));
        Assert.That(resync.Body.GetProperty("keyParts").GetInt32(), Is.EqualTo(end.GetProperty("parts").GetInt32()));
        Assert.That(end.GetProperty("counts").EnumerateObject().ToDictionary(c => c.Name, c => c.Value.GetInt32()),
            Is.EquivalentTo(keys.ToDictionary(k => k.Key, k => k.Value.Count).Concat(new[] { "holidays", "classSchedules", "roleSchedules", "announcements", "menuItems", "consents", "staff" }
                .Where(n => !keys.ContainsKey(n)).Select(n => new KeyValuePair<string, int>(n, 0)))), "snapshot.end counts every list");
        long[] Longs(string name) => keys[name].Select(e => e.GetInt64()).ToArray();
        string[] Strings(string name) => keys[name].Select(e => e.GetString()!).ToArray();
        Assert.That(Longs("pupils"), Is.EqualTo(new[] { stays }), "the pupil who left is not listed, so the school marks them left");
        Assert.That(Longs("classes"), Is.EqualTo(new[] { classId }), "the removed class is not listed");
        Assert.That(Longs("cards"), Is.EquivalentTo(new[] { 3900000001L, 3922000001L }));
        Assert.That(Longs("staff"), Is.EqualTo(new[] { guard }));
        Assert.That(Longs("classSchedules"), Is.EqualTo(new[] { classId }));
        Assert.That(Strings("roleSchedules"), Is.EqualTo(new[] { "guard" }));
        Assert.That(Strings("holidays"), Is.EqualTo(new[] { "2026-12-16" }), "the removed holiday is not sent");
        Assert.That(Strings("consents"), Is.EqualTo(new[] { "cs-r1" }));
        Assert.That(Strings("announcements"), Is.EqualTo(new[] { "a-r1" }), "the withdrawn announcement is not listed, so the school removes it");
        Assert.That(Longs("menuItems"), Is.EqualTo(new[] { 31L, 32L }), "the dishes of the menus sent");
        Assert.That(snapshot.Where(c => c.Kind == "pupil.upsert").Select(c => c.Data.GetProperty("displayName").GetString()), Is.EqualTo(new[] { "Айгерим С." }),
            "display names only, as ever");
    }

    [Test]
    public async Task A_school_that_has_applied_nothing_starts_at_a_snapshot_when_its_feed_is_long_and_replays_it_when_short()
    {
        var feed = new DownlinkFeed(Database);
        long pupil = await EnrolOverHttpAsync(SchoolA);
        for (int i = 0; i < 4; i++) await PutAsync($"/api/schools/{SchoolA}/holidays/2027-01-0{i + 1}", """{ "name": "New Year" }""");
        long latest = (await FeedAsync(SchoolA))[^1].Version;

        Assert.That(await feed.BaseVersionAsync(SchoolA, 0, snapshotAbove: 1000, CancellationToken.None), Is.Zero, "a short feed is replayed from the start");
        Assert.That(await feed.BaseVersionAsync(SchoolA, 3, snapshotAbove: 2, CancellationToken.None), Is.EqualTo(3), "a school that applied something goes on from there");

        long start = await feed.BaseVersionAsync(SchoolA, 0, snapshotAbove: 2, CancellationToken.None);
        Assert.That(start, Is.EqualTo(latest), "a snapshot is written after the history and the school starts there");
        var written = await FeedAsync(SchoolA);
        Assert.That(written.Single(c => c.Version == start + 1).Kind, Is.EqualTo("snapshot.begin"));
        Assert.That(KeysOf(written)["pupils"].Single().GetInt64(), Is.EqualTo(pupil));
        Assert.That(await feed.BaseVersionAsync(SchoolA, 0, snapshotAbove: 1000, CancellationToken.None), Is.EqualTo(start),
            "a second hello from the same school reuses that snapshot");
        Assert.That((await FeedAsync(SchoolA)).Count(c => c.Kind == "snapshot.begin"), Is.EqualTo(1));

        // Behind the retention floor: the history a school still needs was pruned, so it gets the snapshot.
        await ExecuteAsync($"DELETE FROM downlink_changes WHERE school = '{SchoolA}' AND version <= 3");
        Assert.That(await feed.BaseVersionAsync(SchoolA, 2, snapshotAbove: 1000, CancellationToken.None), Is.EqualTo(start));
        Assert.That(await feed.BaseVersionAsync(SchoolA, 3, snapshotAbove: 1000, CancellationToken.None), Is.EqualTo(3), "version 4 is still there");

        // A snapshot written before the key lists were split (inline lists) is not reused: a new one is written.
        await using (var connection = new Npgsql.NpgsqlConnection(ConnectionString + ";Pooling=false"))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await Kezekshi.Server.Sync.Domain.ChangeFeed.AppendAsync(connection, transaction, SchoolB, "snapshot.begin", 1, """{"snapshotId":"snap-old","reason":"before the split"}""");
            await Kezekshi.Server.Sync.Domain.ChangeFeed.AppendAsync(connection, transaction, SchoolB, "snapshot.end", 1,
                """{"snapshotId":"snap-old","classes":[],"pupils":[],"staff":[],"cards":[],"consents":[],"holidays":[],"classSchedules":[],"roleSchedules":[]}""");
            await transaction.CommitAsync();
        }
        long fresh = await feed.BaseVersionAsync(SchoolB, 0, snapshotAbove: 1000, CancellationToken.None);
        Assert.That(fresh, Is.EqualTo(2), "a new snapshot after the old one");
        Assert.That((await FeedAsync(SchoolB)).Where(c => c.Version > fresh).Select(c => c.Kind), Is.EqualTo(new[] { "snapshot.begin", "snapshot.keys", "snapshot.end" }));
        Assert.That(await feed.BaseVersionAsync(SchoolB, 0, snapshotAbove: 1000, CancellationToken.None), Is.EqualTo(fresh), "and that one is reused");
    }

    [Test]
    public async Task Only_an_agent_that_lists_snapshot_begin_in_its_hello_is_started_at_a_snapshot()
    {
        await EnrolOverHttpAsync(SchoolA);
        await EnrolOverHttpAsync(SchoolA, "Бекзат Ахмет");
        var sent = new List<JsonElement>();
        var sessions = new SchoolSessions(new DownlinkFeed(Database), Ingestor, (topic, payload, _) =>
        {
            if (topic.EndsWith("/down/changes", StringComparison.Ordinal))
                lock (sent) sent.Add(JsonDocument.Parse(payload).RootElement.Clone());
            return Task.FromResult(true);
        }, NullLogger<SchoolSessions>.Instance) { SnapshotAbove = 1 };
        static byte[] Hello(string supports) => Encoding.UTF8.GetBytes($$"""
            { "schemaVersion": 1, "type": "hello", "school": "sch-0001", "region": "almaty", "msgId": "m", "sentAt": "2026-11-22T08:00:00+05:00",
              "epoch": "7f3c2a9e-5d41-4b7a-9f0e-2c6d8b1a4e55", "appliedVersion": 0, "supports": { {{supports}} } }
            """);

        await sessions.OnHelloAsync("kz/v1/almaty/sch-0001/up/hello", Hello("\"changes\": [1], \"pupil.upsert\": [1]"), CancellationToken.None);
        Assert.That(sent[0].GetProperty("fromVersion").GetInt64(), Is.EqualTo(1), "an older agent replays the feed");
        Assert.That((await FeedAsync(SchoolA)).Any(c => c.Kind == "snapshot.begin"), Is.False);

        // An agent from before the key lists were split applies snapshot.begin but not snapshot.keys: it replays too.
        sent.Clear();
        await sessions.OnHelloAsync("kz/v1/almaty/sch-0001/up/hello", Hello("\"changes\": [1], \"snapshot.begin\": [1], \"snapshot.end\": [1]"), CancellationToken.None);
        Assert.That(sent[0].GetProperty("fromVersion").GetInt64(), Is.EqualTo(1), "an agent without snapshot.keys replays the feed");
        Assert.That((await FeedAsync(SchoolA)).Any(c => c.Kind == "snapshot.begin"), Is.False);

        sent.Clear();
        await sessions.OnHelloAsync("kz/v1/almaty/sch-0001/up/hello", Hello("\"changes\": [1], \"snapshot.begin\": [1], \"snapshot.keys\": [1], \"snapshot.end\": [1]"), CancellationToken.None);
        var first = sent[0].GetProperty("changes")[0];
        Assert.That(first.GetProperty("kind").GetString(), Is.EqualTo("snapshot.begin"));
        Assert.That(sent[0].GetProperty("fromVersion").GetInt64(), Is.GreaterThan(1));
    }
    [Test]
    public async Task A_snapshot_of_a_school_with_10000_pupils_keeps_every_change_and_message_within_256_KiB_and_lists_every_key()
    {
        // 400 classes, 10,000 pupils with a card and a consent each, 300 staff with cards: IDs shaped as the centre issues them.
        await ExecuteAsync($"""
            INSERT INTO classes(school, name, grade) SELECT '{SchoolA}', 'C' || g, 1 + g % 11 FROM generate_series(1, 400) g;
            INSERT INTO pupils(id, full_name, display_name, school, class_id)
            SELECT 100000000000000 + g::bigint * 79999999, 'Pupil ' || g, 'Pupil ' || g || '.', '{SchoolA}', c.ids[1 + g % 400]
            FROM generate_series(1, 10000) g, (SELECT array_agg(id) AS ids FROM classes WHERE school = '{SchoolA}') c;
            INSERT INTO cards(card_number, holder_kind, holder_id, status)
            SELECT 3000000000 + g, 'pupil', 100000000000000 + g::bigint * 79999999, 'active' FROM generate_series(1, 10000) g;
            INSERT INTO consents(id, pupil, given_by_kind, purposes, status, document_sha256, operator)
            SELECT 'cs-' || lpad(to_hex(g * 104729), 16, '0'), 100000000000000 + g::bigint * 79999999, 'pupil', ARRAY['access', 'attendance'], 'granted', repeat('a', 64), 'office'
            FROM generate_series(1, 10000) g;
            INSERT INTO staff(id, school, full_name, display_name, role) SELECT 513377012345000 + g, '{SchoolA}', 'Staff ' || g, 'Staff ' || g || '.', 'teacher' FROM generate_series(1, 300) g;
            INSERT INTO cards(card_number, holder_kind, holder_id, status) SELECT 3500000000 + g, 'staff', 513377012345000 + g, 'active' FROM generate_series(1, 300) g;
            """);

        var view = await new Kezekshi.Server.Sync.Domain.Snapshots(Database).ResyncAsync(SchoolA, new Kezekshi.Server.Sync.Domain.ResyncRequest("a large school"), CancellationToken.None);
        Assert.That((view.Pupils, view.Cards, view.Consents, view.Staff, view.Classes), Is.EqualTo((10_000, 10_300, 10_000, 300, 400)));

        var snapshot = (await FeedAsync(SchoolA)).Where(c => c.Version >= view.FromVersion).ToList();
        Assert.That((snapshot[0].Kind, snapshot[^1].Kind, snapshot[^1].Version), Is.EqualTo(("snapshot.begin", "snapshot.end", view.ToVersion)));
        Assert.That(snapshot.Select(c => c.Version), Is.EqualTo(Enumerable.Range(0, snapshot.Count).Select(i => view.FromVersion + i)), "versions contiguous");
        int largest = snapshot.Max(c => Encoding.UTF8.GetByteCount(c.Data.GetRawText()));
        Assert.That(largest, Is.LessThanOrEqualTo(Kezekshi.Server.Sync.Domain.Snapshots.KeysPartBytes), "every change, key parts included, stays under the part limit");

        var parts = snapshot.Where(c => c.Kind == "snapshot.keys").ToList();
        Assert.That(parts.Select(p => p.Data.GetProperty("part").GetInt32()), Is.EqualTo(Enumerable.Range(1, parts.Count)));
        Assert.That(snapshot[^1].Data.GetProperty("parts").GetInt32(), Is.EqualTo(parts.Count));
        int keyBytes = parts.Sum(p => Encoding.UTF8.GetByteCount(p.Data.GetRawText()));
        Assert.That(keyBytes, Is.GreaterThan(DownlinkFeed.MaxBytes), "one snapshot.end carrying every key would not fit in a message");
        Assert.That(parts.SelectMany(p => p.Data.EnumerateObject()).Where(l => l.Value.ValueKind == JsonValueKind.Array).Max(l => l.Value.GetArrayLength()),
            Is.LessThanOrEqualTo(Kezekshi.Server.Sync.Domain.Snapshots.KeysPerList), "arrays of at most 1,000 items (§3)");

        var keys = KeysOf(snapshot);
        var counts = snapshot[^1].Data.GetProperty("counts");
        foreach (var list in keys) Assert.That(counts.GetProperty(list.Key).GetInt32(), Is.EqualTo(list.Value.Count), list.Key);
        async Task<HashSet<string>> Expected(string sql)
        {
            await using var connection = new Npgsql.NpgsqlConnection(ConnectionString + ";Pooling=false");
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand(sql, connection);
            var set = new HashSet<string>(StringComparer.Ordinal);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) set.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
            return set;
        }
        HashSet<string> Sent(string name) => keys[name].Select(k => k.ValueKind == JsonValueKind.String ? k.GetString()! : k.GetRawText()).ToHashSet(StringComparer.Ordinal);
        Assert.That(Sent("pupils"), Is.EquivalentTo(await Expected($"SELECT id FROM pupils WHERE school = '{SchoolA}'")).And.Count.EqualTo(10_000));
        Assert.That(Sent("cards"), Is.EquivalentTo(await Expected("SELECT card_number FROM cards")).And.Count.EqualTo(10_300));
        Assert.That(Sent("consents"), Is.EquivalentTo(await Expected("SELECT id FROM consents")).And.Count.EqualTo(10_000));
        Assert.That(Sent("staff"), Is.EquivalentTo(await Expected("SELECT id FROM staff")));
        Assert.That(Sent("classes"), Is.EquivalentTo(await Expected($"SELECT id FROM classes WHERE school = '{SchoolA}'")));

        // The messages the school receives: each within the 256 KiB limit, together the whole snapshot.
        var feed = new DownlinkFeed(Database);
        long after = view.FromVersion - 1;
        int messages = 0;
        while (await feed.ReadAsync(SchoolA, "almaty", after, CancellationToken.None) is { } batch)
        {
            Assert.That(batch.Payload.Length, Is.LessThanOrEqualTo(DownlinkFeed.MaxBytes), $"message {batch.FromVersion}–{batch.ToVersion}");
            after = batch.ToVersion;
            messages++;
        }
        Assert.That(after, Is.EqualTo(view.ToVersion), "the messages carry the snapshot to its end");
        TestContext.Out.WriteLine($"10,000 pupils: {snapshot.Count} changes, {parts.Count} key parts, largest change {largest} B, keys {keyBytes} B in all, {messages} messages");
        Assert.That(messages, Is.GreaterThan(1));
    }
}
