using System.Net;
using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Tests.Support;
using static Kezekshi.Server.Sync.Tests.Support.SchoolEvents;

namespace Kezekshi.Server.Sync.Tests.Api;

public sealed class ConsentAndMoneyApiTests : ApiFixture
{
    private static readonly string s_hash = new('e', 64);

    [Test]
    public async Task A_guardians_consent_is_granted_listed_and_revoked_to_every_school_holding_templates()
    {
        long pupilId = await EnrolOverHttpAsync(SchoolA);
        var guardian = await PostAsync("/api/guardians", """{ "fullName": "Сауле Сейтқали", "phone": "+77010000000" }""");
        long guardianId = guardian.Body.GetProperty("guardianId").GetInt64();
        var link = await PutAsync($"/api/guardians/{guardianId}/pupils/{pupilId}", """{ "relation": "parent" }""");
        string consent = $$"""
            { "consentId": "cs-55102", "pupilId": {{pupilId}}, "givenBy": "guardian", "guardianId": {{guardianId}},
              "purposes": ["access", "attendance"], "documentSha256": "{{s_hash}}", "operator": "office-1" }
            """;
        var granted = await PostAsync("/api/consents", consent);
        var repeated = await PostAsync("/api/consents", consent);
        var template = await PostAsync($"/api/pupils/{pupilId}/templates", $$"""
            { "templateId": "t-9917", "school": "{{SchoolC}}", "modality": "face", "model": "mbf-192@3", "consentId": "cs-55102",
              "keyId": "k-00112233aabbccdd", "alg": "ECDH-ES-P256+HKDF-SHA256+A256GCM", "sourceSchool": "sch-0009", "quality": 0.9,
              "epk": "ZXBr", "nonce": "bm9uY2U=", "ciphertext": "Y2lwaGVy", "tag": "dGFn" }
            """);
        var placements = await GetAsync($"/api/pupils/{pupilId}/placements");
        var revoked = await PostAsync("/api/consents/cs-55102/revoke", """{ "operator": "office-2" }""");
        var objectionAfter = await PostAsync("/api/consents/cs-55102/objection", """{ "operator": "office-2" }""");
        var listed = await GetAsync($"/api/pupils/{pupilId}/consents");

        Assert.That(guardian.Status, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(link.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(granted.Status, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(granted.Response.Headers.Location?.ToString(), Is.EqualTo("/api/consents/cs-55102"));
        Assert.That(repeated.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(template.Status, Is.EqualTo(HttpStatusCode.Created), template.Body.ToString());
        Assert.That(placements.Body[0].GetProperty("school").GetString(), Is.EqualTo(SchoolC));
        Assert.That(revoked.Body.GetProperty("status").GetString(), Is.EqualTo("revoked"));
        Assert.That(revoked.Body.GetProperty("schoolsNotified").EnumerateArray().Select(s => s.GetString()), Is.EqualTo(new[] { SchoolA, SchoolC }));
        Assert.That(objectionAfter.Body.GetProperty("status").GetString(), Is.EqualTo("revoked"), "an ended consent stays as it ended");
        Assert.That(listed.Body.GetArrayLength(), Is.EqualTo(1));
        Assert.That((await FeedAsync(SchoolC)).Select(c => c.Kind), Is.EqualTo(new[] { "template.upsert", "consent.revoke" }));
    }

    [Test]
    public async Task Bad_consents_name_the_field()
    {
        long pupilId = await EnrolOverHttpAsync(SchoolA);
        string Body(string purposes, string hash = "", string givenBy = "pupil") => $$"""
            { "pupilId": {{pupilId}}, "givenBy": "{{givenBy}}", "purposes": {{purposes}}, "documentSha256": "{{(hash.Length == 0 ? s_hash : hash)}}", "operator": "office-1" }
            """;
        var marketing = await PostAsync("/api/consents", Body("""["access", "marketing"]"""));
        var empty = await PostAsync("/api/consents", Body("[]"));
        var badHash = await PostAsync("/api/consents", Body("""["access"]""", hash: "abc"));
        var noGuardian = await PostAsync("/api/consents", Body("""["access"]""", givenBy: "guardian"));
        var unknown = await PostAsync("/api/consents/cs-404/revoke", """{ "operator": "x" }""");
        var noOperator = await PostAsync("/api/consents/cs-404/revoke", "{}");

        Assert.That(marketing.Status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(marketing.FieldError("purposes"), Does.Contain("marketing"));
        Assert.That(empty.FieldError("purposes"), Does.Contain("canteen-payment"));
        Assert.That(badHash.FieldError("documentSha256"), Does.Contain("sha256sum"));
        Assert.That(noGuardian.FieldError("guardianId"), Does.Contain("required"));
        Assert.That(unknown.Status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(noOperator.FieldError("operator"), Does.Contain("required"));
    }

    [Test]
    public async Task A_topup_is_idempotent_by_its_id_and_bad_amounts_are_refused()
    {
        long pupilId = await EnrolOverHttpAsync(SchoolA);
        string topup = $$"""{ "topupId": "tu-2026-0091823", "pupilId": {{pupilId}}, "amountTiyn": 200000, "at": "2026-11-21T07:38:12+05:00", "source": "kaspi" }""";
        var first = await PostAsync("/api/topups", topup, PortalKey);
        var repeated = await PostAsync("/api/topups", topup, PortalKey);
        var conflict = await PostAsync("/api/topups", topup.Replace("200000", "300000", StringComparison.Ordinal));
        var zero = await PostAsync("/api/topups", $$"""{ "topupId": "tu-2", "pupilId": {{pupilId}}, "amountTiyn": 0, "source": "kaspi" }""");
        var text = await PostAsync("/api/topups", $$"""{ "topupId": "tu-3", "pupilId": {{pupilId}}, "amountTiyn": "2000", "source": "kaspi" }""");
        var badId = await PostAsync("/api/topups", $$"""{ "topupId": "tu 4/5", "pupilId": {{pupilId}}, "amountTiyn": 1, "source": "kaspi" }""");
        var byRegion = await PostAsync("/api/topups", topup, RegionKey);
        var balance = await GetAsync($"/api/pupils/{pupilId}/balance");

        Assert.That(first.Status, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(first.Body.GetProperty("created").GetBoolean(), Is.True);
        Assert.That(repeated.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(repeated.Body.GetProperty("created").GetBoolean(), Is.False);
        Assert.That(conflict.Status, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That(conflict.Body.GetProperty("field").GetString(), Is.EqualTo("topupId"));
        Assert.That(zero.FieldError("amountTiyn"), Does.Contain("greater than 0"));
        Assert.That(text.FieldError("amountTiyn"), Does.Contain("wrong type"));
        Assert.That(badId.FieldError("topupId"), Does.Contain("letters, digits"));
        Assert.That(byRegion.Status, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(balance.Body.GetProperty("balanceTiyn").GetInt64(), Is.EqualTo(200000));
        Assert.That((await FeedAsync(SchoolA)).Count(c => c.Kind == "topup"), Is.EqualTo(1));
    }

    [Test]
    public async Task A_parent_sees_their_childs_passages_purchases_and_balance_and_not_another_childs()
    {
        long child = await EnrolOverHttpAsync(SchoolA, "Child One");
        long stranger = await EnrolOverHttpAsync(SchoolA, "Child Two");
        long guardian = (await PostAsync("/api/guardians", """{ "fullName": "Parent One" }""")).Body.GetProperty("guardianId").GetInt64();
        await PutAsync($"/api/guardians/{guardian}/pupils/{child}", null);
        await PostAsync("/api/topups", $$"""{ "topupId": "tu-1", "pupilId": {{child}}, "amountTiyn": 100000, "source": "kaspi" }""");
        var day = At(2026, 11, 23, 7, 40);
        var result = await IngestAsync(Batches.Topic(SchoolA), Batch(SchoolA, Guid.NewGuid(), 1,
            [Passage("p1", child, day, credential: "face"), Passage("p2", stranger, day), Charge("c1", child, 45000, day.AddHours(4)), Charge("c2", stranger, 1000, day.AddHours(4))]));
        Assert.That(result.Outcome, Is.EqualTo(IngestOutcome.Applied));
        string prefix = $"/api/parent/guardians/{guardian}/pupils";

        var passages = await GetAsync($"{prefix}/{child}/passages?from=2026-11-23&to=2026-11-23", PortalKey);
        var purchases = await GetAsync($"{prefix}/{child}/purchases?from=2026-11-23&to=2026-11-23", PortalKey);
        var balance = await GetAsync($"{prefix}/{child}/balance", PortalKey);
        var otherPassages = await GetAsync($"{prefix}/{stranger}/passages?from=2026-11-23&to=2026-11-23", PortalKey);
        var otherBalance = await GetAsync($"{prefix}/{stranger}/balance", PortalKey);
        var byRegion = await GetAsync($"{prefix}/{child}/passages", RegionKey);
        var badDate = await GetAsync($"{prefix}/{child}/passages?from=23.11.2026", PortalKey);

        Assert.That(passages.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(passages.Body.GetArrayLength(), Is.EqualTo(1));
        Assert.That(passages.Body[0].GetProperty("direction").GetString(), Is.EqualTo("entry"));
        Assert.That(passages.Body[0].GetProperty("credential").GetString(), Is.EqualTo("face"), "the parent sees that their child's face opened the gate");
        Assert.That(purchases.Body.EnumerateArray().Select(p => p.GetProperty("id").GetString()), Is.EqualTo(new[] { "c1" }));
        Assert.That(balance.Body.GetProperty("balanceTiyn").GetInt64(), Is.EqualTo(55000));
        Assert.That(otherPassages.Status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(otherBalance.Status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(byRegion.Status, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(badDate.FieldError("from"), Does.Contain("yyyy-MM-dd"));
    }

    [Test]
    public async Task The_region_dashboard_shows_attendance_and_meals_from_ingested_events()
    {
        long a1 = await EnrolOverHttpAsync(SchoolA, "A One");
        long a2 = await EnrolOverHttpAsync(SchoolA, "A Two");
        var monday = At(2026, 11, 23, 7, 40);
        await IngestAsync(Batches.Topic(SchoolA), Batch(SchoolA, Guid.NewGuid(), 1,
            [Passage("p1", a1, monday), Passage("p2", a2, monday), Passage("p3", a1, monday.AddHours(6)), Charge("c1", a1, 45000, monday.AddHours(4))]));

        var dashboard = await GetAsync("/api/regions/almaty/dashboard?from=2026-11-23&to=2026-11-23", RegionKey);
        var unknown = await GetAsync("/api/regions/nowhere/dashboard", RegionKey);
        var tooLong = await GetAsync("/api/regions/almaty/dashboard?from=2026-01-01&to=2026-11-23", RegionKey);
        var byPortal = await GetAsync("/api/regions/almaty/dashboard", PortalKey);

        Assert.That(dashboard.Status, Is.EqualTo(HttpStatusCode.OK));
        var row = dashboard.Body.EnumerateArray().Single();
        Assert.That(row.GetProperty("school").GetString(), Is.EqualTo(SchoolA));
        Assert.That(row.GetProperty("day").GetString(), Is.EqualTo("2026-11-23"));
        Assert.That(row.GetProperty("attendance").GetInt64(), Is.EqualTo(2));
        Assert.That(row.GetProperty("meals").GetInt64(), Is.EqualTo(1));
        Assert.That(unknown.Status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(tooLong.FieldError("to"), Does.Contain("93 days"));
        Assert.That(byPortal.Status, Is.EqualTo(HttpStatusCode.Forbidden));
    }
}
