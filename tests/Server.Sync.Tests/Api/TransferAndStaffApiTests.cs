using System.Net;
using System.Security.Cryptography;
using Kezekshi.Server.Sync.Tests.Support;

namespace Kezekshi.Server.Sync.Tests.Api;

/// <summary>
/// The transfer endpoints (docs/centre-api.md, templates) and the downlink kinds the centre now writes for staff,
/// holidays removed, role schedules and withdrawn announcements: what lands on which school's feed, and clear refusals.
/// </summary>
public sealed class TransferAndStaffApiTests : ApiFixture
{
    private static readonly Guid s_epoch = Guid.Parse("7f3c2a9e-5d41-4b7a-9f0e-2c6d8b1a4e55");

    private async Task<(string KeyId, string PublicKey)> GiveSchoolAKeyAsync(string school)
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        byte[] spki = key.ExportSubjectPublicKeyInfo();
        string keyId = "k-" + Convert.ToHexStringLower(SHA256.HashData(spki))[..16];
        await ExecuteAsync($"UPDATE schools SET template_key_id = '{keyId}', template_public_key = decode('{Convert.ToHexString(spki)}', 'hex') WHERE id = '{school}'");
        return (keyId, Convert.ToBase64String(spki));
    }

    private static string Sealed(long pupil, string source, string target, string keyId, string id) => $$"""
        { "templateId": "{{id}}", "pupilId": {{pupil}}, "modality": "face", "model": "mbf-512@1", "quality": 1, "sourceSchool": "{{source}}",
          "targetSchool": "{{target}}", "keyId": "{{keyId}}", "alg": "ECDH-ES-P256+HKDF-SHA256+A256GCM", "epk": "ZXBr", "nonce": "bm9uY2Vub25jZTEy",
          "ciphertext": "Y2lwaGVydGV4dA==", "tag": "dGFndGFndGFndGFndGFn" }
        """;

    private static string Export(string transferId, long pupil, string source, string target, string keyId, string templates, string? refused = null) => $$"""
        { "schemaVersion": 1, "transferId": "{{transferId}}", "pupilId": {{pupil}}, "sourceSchool": "{{source}}", "targetSchool": "{{target}}",
          "targetKeyId": "{{keyId}}", "templates": [{{templates}}], "refused": {{(refused is null ? "null" : $"\"{refused}\"")}} }
        """;

    [Test]
    public async Task A_transfer_is_refused_without_the_targets_key_and_otherwise_asks_the_source_then_relays_its_answer_to_the_target()
    {
        long pupil = await EnrolOverHttpAsync(SchoolA);
        var noBody = await PostAsync($"/api/pupils/{pupil}/templates/transfer", """{ "to": "sch-0002", "operator": "registrar" }""");
        var same = await PostAsync($"/api/pupils/{pupil}/templates/transfer", """{ "from": "sch-0001", "to": "sch-0001", "operator": "registrar" }""");
        var noKey = await PostAsync($"/api/pupils/{pupil}/templates/transfer", """{ "from": "sch-0001", "to": "sch-0002", "operator": "registrar" }""");
        Assert.That(noBody.FieldError("from"), Does.Contain("school ID"));
        Assert.That(same.FieldError("to"), Does.Contain("another school"));
        Assert.That(noKey.Status, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That(noKey.Body.GetProperty("detail").GetString(), Does.Contain("has not sent a template key"));

        var (keyId, publicKey) = await GiveSchoolAKeyAsync(SchoolB);
        await PostAsync("/api/consents", $$"""
            { "consentId": "cs-7", "pupilId": {{pupil}}, "givenBy": "pupil", "purposes": ["access"], "documentSha256": "{{new string('b', 64)}}", "operator": "office" }
            """);
        var requested = await PostAsync($"/api/pupils/{pupil}/templates/transfer", """{ "from": "sch-0001", "to": "sch-0002", "operator": "registrar" }""");
        Assert.That(requested.Status, Is.EqualTo(HttpStatusCode.Accepted), requested.Body.ToString());
        string transferId = requested.Body.GetProperty("transferId").GetString()!;
        Assert.That(requested.Response.Headers.Location?.ToString(), Is.EqualTo($"/api/transfers/{transferId}"));
        var request = (await FeedAsync(SchoolA)).Last();
        Assert.That(request.Kind, Is.EqualTo("template.export.request"));
        Assert.That((request.Data.GetProperty("targetKeyId").GetString(), request.Data.GetProperty("targetPublicKey").GetString()), Is.EqualTo((keyId, publicKey)));
        Assert.That((await FeedAsync(SchoolB)).Select(c => c.Kind), Is.EqualTo(new[] { "consent.grant" }), "the pupil's consent goes to the target ahead of the templates");

        // An answer from a school that was not asked changes nothing; the source's answer is relayed once.
        await IngestAsync(Batches.Topic(SchoolB), Batches.Build(SchoolB, s_epoch, 1, 1,
            [(1, "template.export", 1, Export(transferId, pupil, SchoolB, SchoolB, keyId, Sealed(pupil, SchoolB, SchoolB, keyId, "sch-0002.t1")))]));
        Assert.That((await GetAsync($"/api/transfers/{transferId}")).Body.GetProperty("status").GetString(), Is.EqualTo("requested"));
        var answer = Batches.Build(SchoolA, s_epoch, 1, 1, [(1, "template.export", 1,
            Export(transferId, pupil, SchoolA, SchoolB, keyId, Sealed(pupil, SchoolA, SchoolB, keyId, "sch-0001.t1") + "," + Sealed(pupil, SchoolA, SchoolB, keyId, "sch-0001.t2")))]);
        await IngestAsync(Batches.Topic(SchoolA), answer);
        await IngestAsync(Batches.Topic(SchoolA), answer);

        var delivered = await GetAsync($"/api/transfers/{transferId}");
        Assert.That((delivered.Body.GetProperty("status").GetString(), delivered.Body.GetProperty("templates").GetInt32()), Is.EqualTo(("delivered", 2)));
        var atB = await FeedAsync(SchoolB);
        Assert.That(atB.Select(c => c.Kind), Is.EqualTo(new[] { "consent.grant", "template.upsert", "template.upsert" }), "relayed once");
        Assert.That(atB[1].Data.GetProperty("transferId").GetString(), Is.EqualTo(transferId));
        Assert.That((await GetAsync($"/api/pupils/{pupil}/placements")).Body.EnumerateArray().Select(p => p.GetProperty("school").GetString()),
            Is.EqualTo(new[] { SchoolB, SchoolB }), "a later revocation reaches B");
        Assert.That((await GetAsync($"/api/pupils/{pupil}/transfers")).Body.GetArrayLength(), Is.EqualTo(1));
    }

    [Test]
    public async Task An_answer_that_does_not_match_the_request_or_a_refusal_closes_the_transfer_as_refused_and_relays_nothing()
    {
        long pupil = await EnrolOverHttpAsync(SchoolA);
        var (keyId, _) = await GiveSchoolAKeyAsync(SchoolB);
        string first = (await PostAsync($"/api/pupils/{pupil}/templates/transfer", """{ "from": "sch-0001", "to": "sch-0002", "operator": "registrar" }"""))
            .Body.GetProperty("transferId").GetString()!;
        string second = (await PostAsync($"/api/pupils/{pupil}/templates/transfer", """{ "from": "sch-0001", "to": "sch-0002", "operator": "registrar" }"""))
            .Body.GetProperty("transferId").GetString()!;
        await IngestAsync(Batches.Topic(SchoolA), Batches.Build(SchoolA, s_epoch, 1, 2, [
            (1, "template.export", 1, Export(first, pupil, SchoolA, SchoolB, keyId, Sealed(pupil + 1, SchoolA, SchoolB, keyId, "sch-0001.t1"))),
            (2, "template.export", 1, Export(second, pupil, SchoolA, SchoolB, keyId, "", "no-consent: pupil has no consent covering access at sch-0001"))]));

        var mismatch = (await GetAsync($"/api/transfers/{first}")).Body;
        var refused = (await GetAsync($"/api/transfers/{second}")).Body;
        Assert.That(mismatch.GetProperty("status").GetString(), Is.EqualTo("refused"));
        Assert.That(mismatch.GetProperty("detail").GetString(), Does.Contain($"pupil {pupil + 1}"));
        Assert.That(refused.GetProperty("status").GetString(), Is.EqualTo("refused"));
        Assert.That(refused.GetProperty("detail").GetString(), Does.Contain("no-consent"));
        Assert.That((await FeedAsync(SchoolB)).Where(c => c.Kind == "template.upsert"), Is.Empty);
        Assert.That((await GetAsync("/api/transfers/tr-unknown")).Status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Staff_holidays_role_schedules_and_withdrawn_announcements_reach_the_schools_feeds()
    {
        var added = await PostAsync($"/api/schools/{SchoolA}/staff", """{ "fullName": "Нұрлан Әбенов", "role": "guard" }""");
        long staffId = added.Body.GetProperty("staffId").GetInt64();
        var renamed = await PutAsync($"/api/staff/{staffId}", """{ "role": "teacher" }""");
        var unchanged = await PutAsync($"/api/staff/{staffId}", """{ "role": "teacher" }""");
        var left = await PostAsync($"/api/staff/{staffId}/leave", null);
        var badRole = await PostAsync($"/api/schools/{SchoolA}/staff", """{ "fullName": "X Y", "role": "director" }""");
        var listed = await GetAsync($"/api/schools/{SchoolA}/staff");
        await PutAsync($"/api/schools/{SchoolA}/holidays/2026-12-16", """{ "name": "Тәуелсіздік күні" }""");
        var removed = await SendAsync(HttpMethod.Delete, $"/api/schools/{SchoolA}/holidays/2026-12-16", null, AdminKey);
        var roleSchedule = await PutAsync($"/api/schools/{SchoolA}/schedules/roles/guard", """{ "windows": [{ "weekday": 1, "from": "06:30", "until": "20:00" }] }""");
        await PostAsync("/api/announcements", """
            { "announcementId": "a-301", "region": "almaty", "title": "Короткий день", "body": "24.11 уроки до 12:00",
              "showFrom": "2026-11-23T00:00:00+05:00", "showUntil": "2026-11-24T23:59:59+05:00" }
            """);
        var withdrawn = await PostAsync("/api/announcements/a-301/withdraw", """{ "region": "almaty" }""");

        Assert.That(added.Status, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(added.Body.GetProperty("displayName").GetString(), Is.EqualTo("Нұрлан Ә."));
        Assert.That(renamed.Body.GetProperty("role").GetString(), Is.EqualTo("teacher"));
        Assert.That(unchanged.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(left.Body.GetProperty("status").GetString(), Is.EqualTo("left"));
        Assert.That(badRole.FieldError("role"), Does.Contain("teacher, guard"));
        Assert.That(listed.Body.GetArrayLength(), Is.EqualTo(1));
        Assert.That(removed.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(roleSchedule.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(withdrawn.Body.GetProperty("changes").GetArrayLength(), Is.EqualTo(2), "both schools of the region");

        var feed = await FeedAsync(SchoolA);
        Assert.That(feed.Select(c => c.Kind), Is.EqualTo(new[]
        {
            "staff.upsert", "staff.upsert", "staff.leave", "holiday.set", "holiday.remove", "schedule.replace", "announcement", "announcement.withdraw",
        }), "a change that changes nothing writes nothing");
        Assert.That(feed[0].Data.ToString(), Does.Not.Contain("Әбенов"), "the full name stays at the centre");
        Assert.That(feed[5].Data.GetProperty("appliesTo").GetString(), Is.EqualTo("role"));
    }
}
