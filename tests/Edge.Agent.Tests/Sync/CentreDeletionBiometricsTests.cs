using System.Text.Json;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Tests;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Tests.Sync;

/// <summary>
/// Deletions the centre asks of a school's biometric store, on real edge.db and biometrics.db files: <c>template.delete</c>
/// of one received template (the consent stays), and a snapshot that no longer lists a consent from the centre (its
/// templates go, with a purge confirmation like a revocation's), while consents taken at the school office stay.
/// </summary>
[Category("Integration")]
public class CentreDeletionBiometricsTests
{
    private const long Pupil = 480112;

    private static (string, string) Consent(string id, long pupil) => ("consent.grant", $$"""{"consentId":"{{id}}","pupilId":{{pupil}},"purposes":["access","attendance"]}""");

    [Test]
    public void Template_delete_removes_one_received_template_keeps_the_consent_and_confirms_the_purge_under_its_id()
    {
        using var a = new BiometricSchool("sch-a");
        using var b = new BiometricSchool("sch-b");
        a.Apply(1, Consent("cs-1", Pupil));
        a.Enrol(Pupil, 7);
        string request = $$"""{"transferId":"tr-1","pupilId":{{Pupil}},"targetSchool":"sch-b","targetKeyId":"{{b.Module.TransferKeys.KeyId}}","targetPublicKey":"{{Convert.ToBase64String(b.Module.TransferKeys.PublicKey)}}"}""";
        Assert.That(a.Apply(2, ("template.export.request", request)).Rejected, Is.Empty);
        string[] templates;
        using (var export = JsonDocument.Parse(a.OutboxPayload("template.export")))
            templates = export.RootElement.GetProperty("templates").EnumerateArray().Select(t => t.GetRawText()).ToArray();
        b.Apply(1, Consent("cs-1", Pupil));
        Assert.That(b.Apply(2, templates.Select(t => ("template.upsert", t)).ToArray()).Rejected, Is.Empty);
        Assert.That(b.Module.Store.Count(Pupil), Is.EqualTo(2));
        string firstId;
        using (var first = JsonDocument.Parse(templates[0])) firstId = first.RootElement.GetProperty("templateId").GetString()!;

        var deleted = b.Apply(4, ("template.delete", $$"""{"deletionId":"td-1","templateId":"{{firstId}}","pupilId":{{Pupil}},"reason":"the parent asked"}"""));
        Assert.That(deleted.Rejected, Is.Empty);
        Assert.That(deleted.Purged.Select(p => (p.ConsentId, p.Templates)), Is.EqualTo(new[] { ("td-1", 1) }), "confirmed to the centre under the deletion's id");
        Assert.That(b.Module.Store.Count(Pupil), Is.EqualTo(1), "only that template");
        Assert.That(b.Module.Consents.EffectiveMask(Pupil) & BiometricPurpose.Access, Is.EqualTo(BiometricPurpose.Access), "the consent is untouched");
        Assert.That(b.Module.Store.Receipts(Pupil), Has.Count.EqualTo(1), "with a deletion receipt");

        var again = b.Apply(5, ("template.delete", $$"""{"deletionId":"td-2","templateId":"{{firstId}}","pupilId":{{Pupil}}}"""));
        Assert.That(again.Purged.Select(p => (p.ConsentId, p.Templates)), Is.EqualTo(new[] { ("td-2", 0) }), "nothing more to delete, still confirmed");
    }

    [Test]
    public void A_snapshot_revokes_consents_from_the_centre_it_no_longer_lists_and_purges_their_templates_but_keeps_the_offices()
    {
        using var school = new BiometricSchool("sch-0001");
        const long Other = 480113;
        Assert.That(school.Apply(1, ("class.upsert", """{"classId":73,"name":"5B","grade":5}"""),
            ("pupil.upsert", $$"""{"pupilId":{{Pupil}},"classId":73,"displayName":"A"}"""),
            ("pupil.upsert", $$"""{"pupilId":{{Other}},"classId":73,"displayName":"B"}"""),
            Consent("cs-1", Pupil)).Rejected, Is.Empty);
        // The other pupil's consent was taken at the school office (the centre does not hold it).
        school.Module.Consents.RecordGrant(new ConsentGrant(Other, "guardian-5", "Guardian", DateTimeOffset.UtcNow, new string('c', 64),
            BiometricPurpose.Access | BiometricPurpose.Attendance, DateTimeOffset.UtcNow.AddYears(1), "office", NoCrossBorder: true));
        school.Enrol(Pupil, 7);
        school.Enrol(Other, 8);
        Assert.That((school.Module.Store.Count(Pupil), school.Module.Store.Count(Other)), Is.EqualTo((2, 2)));

        var end = $$"""{"snapshotId":"snap-1","classes":[73],"pupils":[{{Pupil}},{{Other}}],"staff":[],"cards":[],"consents":[],"holidays":[],"classSchedules":[],"roleSchedules":[]}""";
        var outcome = school.Apply(5, ("snapshot.begin", """{"snapshotId":"snap-1","reason":"test"}"""), ("snapshot.end", end));
        Assert.That(outcome.Rejected, Is.Empty);
        Assert.That(outcome.Purged.Select(p => (p.ConsentId, p.Templates)), Is.EqualTo(new[] { ("cs-1", 2) }), "confirmed like a revocation");
        Assert.That(school.Module.Store.Count(Pupil), Is.Zero);
        Assert.That(school.Module.Store.Count(Other), Is.EqualTo(2), "the office's consent is not the centre's to remove");

        // The same end again changes nothing and reports nothing.
        var again = school.Apply(7, ("snapshot.end", end));
        Assert.That((again.Rejected.Count, again.Purged.Count), Is.EqualTo((0, 0)));

        // A pupil the snapshot no longer lists loses their templates, whatever consent the office holds (as on pupil.leave).
        var gone = school.Apply(8, ("snapshot.end", end.Replace($",{Other}]", "]", StringComparison.Ordinal)));
        Assert.That(gone.Rejected, Is.Empty);
        Assert.That(school.Module.Store.Count(Other), Is.Zero);
    }
    [Test]
    public void A_split_snapshot_reconciles_consents_from_the_centre_only_once_all_its_key_parts_are_in()
    {
        using var school = new BiometricSchool("sch-0001");
        const long Kept = 480113;
        Assert.That(school.Apply(1, ("class.upsert", """{"classId":73,"name":"5B","grade":5}"""),
            ("pupil.upsert", $$"""{"pupilId":{{Pupil}},"classId":73,"displayName":"A"}"""),
            ("pupil.upsert", $$"""{"pupilId":{{Kept}},"classId":73,"displayName":"B"}"""),
            Consent("cs-1", Pupil), Consent("cs-2", Kept)).Rejected, Is.Empty);
        school.Enrol(Pupil, 7);
        school.Enrol(Kept, 8);

        const string Counts = "\"classes\":1,\"pupils\":2,\"staff\":0,\"cards\":0,\"consents\":1,\"holidays\":0,\"classSchedules\":0,\"roleSchedules\":0,\"announcements\":0,\"menuItems\":0";
        var first = school.Apply(6, ("snapshot.begin", """{"snapshotId":"snap-7","reason":"test"}"""),
            ("snapshot.keys", $$"""{"snapshotId":"snap-7","part":1,"classes":[73],"pupils":[{{Pupil}},{{Kept}}]}"""),
            ("snapshot.end", $$$"""{"snapshotId":"snap-7","parts":2,"counts":{{{{Counts}}}}}"""));
        Assert.That(first.Rejected.Single().Reason, Does.Contain("missing: 2"));
        Assert.That((school.Module.Store.Count(Pupil), school.Module.Store.Count(Kept)), Is.EqualTo((2, 2)), "a rejected end revokes nothing");

        var whole = school.Apply(9, ("snapshot.begin", """{"snapshotId":"snap-8","reason":"test"}"""),
            ("snapshot.keys", $$"""{"snapshotId":"snap-8","part":1,"classes":[73],"pupils":[{{Pupil}},{{Kept}}]}"""),
            ("snapshot.keys", """{"snapshotId":"snap-8","part":2,"consents":["cs-2"]}"""),
            ("snapshot.end", $$$"""{"snapshotId":"snap-8","parts":2,"counts":{{{{Counts}}}}}"""));
        Assert.That(whole.Rejected, Is.Empty);
        Assert.That(whole.Purged.Select(p => (p.ConsentId, p.Templates)), Is.EqualTo(new[] { ("cs-1", 2) }), "the consent not listed in either part is revoked");
        Assert.That((school.Module.Store.Count(Pupil), school.Module.Store.Count(Kept)), Is.EqualTo((0, 2)));
    }
}
