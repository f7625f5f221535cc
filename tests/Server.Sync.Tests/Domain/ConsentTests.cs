using Kezekshi.Server.Sync.Domain;
using Kezekshi.Server.Sync.Tests.Support;
using Npgsql;

namespace Kezekshi.Server.Sync.Tests.Domain;

public sealed class ConsentTests : DomainFixture
{
    [Test]
    public async Task A_revocation_reaches_every_school_holding_the_pupils_templates_and_the_current_school_once()
    {
        var pupil = await EnrolAsync(SchoolA);
        var consent = await GrantAsync(pupil.PupilId, "access", "attendance");
        await Consents.SendTemplateAsync(pupil.PupilId, Template("t-a", SchoolA, consent.ConsentId), CancellationToken.None);
        await Consents.SendTemplateAsync(pupil.PupilId, Template("t-c", SchoolC, consent.ConsentId), CancellationToken.None); // e.g. a summer camp in another region
        var other = await EnrolAsync(SchoolB, "Other Pupil");
        var otherConsent = await GrantAsync(other.PupilId);
        await Consents.SendTemplateAsync(other.PupilId, Template("t-b", SchoolB, otherConsent.ConsentId), CancellationToken.None);

        var revoked = await Consents.EndAsync(consent.ConsentId, "revoked", new ConsentEndRequest("office-2"), CancellationToken.None);
        var repeated = await Consents.EndAsync(consent.ConsentId, "revoked", new ConsentEndRequest("office-2"), CancellationToken.None);

        Assert.That(revoked.Status, Is.EqualTo("revoked"));
        Assert.That(revoked.SchoolsNotified, Is.EqualTo(new[] { SchoolA, SchoolC }));
        Assert.That(repeated.SchoolsNotified, Is.Empty, "an ended consent is not sent again");
        foreach (string school in new[] { SchoolA, SchoolC })
        {
            var revokes = (await FeedAsync(school)).Where(c => c.Kind == "consent.revoke").ToList();
            Assert.That(revokes, Has.Count.EqualTo(1), school);
            Assert.That(revokes[0].Data.GetProperty("consentId").GetString(), Is.EqualTo(consent.ConsentId));
            Assert.That(revokes[0].Data.GetProperty("pupilId").GetInt64(), Is.EqualTo(pupil.PupilId));
            Assert.That(revokes[0].Data.GetProperty("purposes").EnumerateArray().Select(p => p.GetString()), Is.EqualTo(new[] { "access", "attendance" }));
            Assert.That(revokes[0].Data.GetProperty("purgeBy").GetDateTimeOffset(), Is.GreaterThan(DateTimeOffset.UtcNow.AddHours(23)));
        }
        Assert.That((await FeedAsync(SchoolB)).Select(c => c.Kind), Has.None.EqualTo("consent.revoke"), "a school without the pupil's templates hears nothing");
    }

    [Test]
    public async Task An_objection_also_reaches_the_placements_and_stops_new_templates()
    {
        var pupil = await EnrolAsync(SchoolA);
        var consent = await GrantAsync(pupil.PupilId, "access");
        await Consents.SendTemplateAsync(pupil.PupilId, Template("t-b", SchoolB, consent.ConsentId), CancellationToken.None);

        var objected = await Consents.EndAsync(consent.ConsentId, "objection", new ConsentEndRequest("office-1"), CancellationToken.None);

        Assert.That(objected.Status, Is.EqualTo("objection"));
        Assert.That(objected.SchoolsNotified, Is.EqualTo(new[] { SchoolA, SchoolB }));
        var e = Assert.ThrowsAsync<CentreRequestException>(() => Consents.SendTemplateAsync(pupil.PupilId, Template("t-2", SchoolA, consent.ConsentId), CancellationToken.None));
        Assert.That(e!.Field, Is.EqualTo("consentId"));
    }

    [Test]
    public async Task A_template_needs_an_active_consent_covering_access()
    {
        var pupil = await EnrolAsync(SchoolA);
        var canteenOnly = await GrantAsync(pupil.PupilId, "canteen-payment");
        var e = Assert.ThrowsAsync<CentreRequestException>(() => Consents.SendTemplateAsync(pupil.PupilId, Template("t-1", SchoolA, canteenOnly.ConsentId), CancellationToken.None));
        Assert.That(e!.Message, Does.Contain("'access'"));
        Assert.That(await CountAsync("SELECT count(*) FROM template_placements"), Is.Zero);
    }

    [Test]
    public async Task Marketing_is_no_purpose_for_the_api_nor_for_the_database()
    {
        var pupil = await EnrolAsync(SchoolA);
        var e = Assert.ThrowsAsync<CentreRequestException>(() => GrantAsync(pupil.PupilId, "access", "marketing"));
        Assert.That(e!.Field, Is.EqualTo("purposes"));
        Assert.That(e.Message, Does.Contain("marketing"));

        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand($"""
            INSERT INTO consents(id, pupil, given_by_kind, purposes, status, document_sha256, operator)
            VALUES ('cs-x', {pupil.PupilId}, 'pupil', ARRAY['marketing'], 'granted', '{new string('b', 64)}', 'sql')
            """, connection);
        var db = Assert.ThrowsAsync<PostgresException>(() => insert.ExecuteNonQueryAsync());
        Assert.That(db!.SqlState, Is.EqualTo(PostgresErrorCodes.CheckViolation));
    }

    [Test]
    public async Task A_consent_repeated_with_its_id_is_recorded_once_and_a_different_one_under_that_id_is_a_conflict()
    {
        var pupil = await EnrolAsync(SchoolA);
        var request = new ConsentRequest("cs-55102", pupil.PupilId, "pupil", null, ["attendance", "access", "access"], new string('C', 64), null, "office-1", null);
        var (first, created) = await Consents.GrantAsync(request, CancellationToken.None);
        var (second, createdAgain) = await Consents.GrantAsync(request, CancellationToken.None);

        Assert.That(created && !createdAgain, Is.True);
        Assert.That(first.Purposes, Is.EqualTo(new[] { "access", "attendance" }), "canonical order, no duplicates");
        Assert.That(second.DocumentSha256, Is.EqualTo(new string('c', 64)));
        Assert.That((await FeedAsync(SchoolA)).Count(c => c.Kind == "consent.grant"), Is.EqualTo(1));
        var e = Assert.ThrowsAsync<CentreRequestException>(() => Consents.GrantAsync(request with { Purposes = ["library"] }, CancellationToken.None));
        Assert.That(e!.Problem, Is.EqualTo(RequestProblem.Conflict));
    }

    [Test]
    public async Task A_guardian_consents_only_for_a_linked_pupil()
    {
        var pupil = await EnrolAsync(SchoolA);
        var guardian = await Roster.AddGuardianAsync(new GuardianRequest("Сауле Сейтқали", "+77010000000"), CancellationToken.None);
        var request = new ConsentRequest(null, pupil.PupilId, "guardian", guardian.GuardianId, ["access"], new string('d', 64), null, "office-1", null);

        var e = Assert.ThrowsAsync<CentreRequestException>(() => Consents.GrantAsync(request, CancellationToken.None));
        Assert.That(e!.Field, Is.EqualTo("guardianId"));
        await Roster.LinkGuardianAsync(guardian.GuardianId, pupil.PupilId, new GuardianLinkRequest("parent"), CancellationToken.None);
        var (consent, _) = await Consents.GrantAsync(request, CancellationToken.None);
        Assert.That(consent.GuardianId, Is.EqualTo(guardian.GuardianId));
        Assert.That(consent.NoCrossBorder, Is.True);
    }
}
