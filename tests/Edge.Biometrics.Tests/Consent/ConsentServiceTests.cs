using System.Text.Json;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Storage;
using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests.Consent;

[TestFixture, Category("Integration")]
public sealed class ConsentServiceTests
{
    [Test]
    public void The_index_only_matches_a_pupil_for_purposes_their_consent_covers()
    {
        using var rig = new BiometricsRig();
        var random = new Random(1);
        var face = TestVectors.Unit(random, 16);
        rig.ConsentAndEnrol(1, face, random, BiometricPurpose.Access);

        Assert.That(rig.Identify(face, BiometricPurpose.Access).PupilId, Is.EqualTo(1));
        Assert.That(rig.Identify(face, BiometricPurpose.CanteenPayment).Outcome, Is.EqualTo(IdentifyOutcome.Unknown));
        rig.Consents.RecordGrant(rig.Grant(1, BiometricPurpose.CanteenPayment, guardian: "g-father"));
        Assert.That(rig.Identify(face, BiometricPurpose.CanteenPayment).PupilId, Is.EqualTo(1));
        Assert.That(rig.Identify(face, BiometricPurpose.Library).Outcome, Is.EqualTo(IdentifyOutcome.Unknown));
    }

    [Test]
    public void Revoking_removes_templates_from_memory_and_disk_with_a_receipt_and_a_queued_event()
    {
        using var rig = new BiometricsRig();
        var random = new Random(2);
        var face = TestVectors.Unit(random, 16);
        rig.ConsentAndEnrol(1, face, random);
        rig.ConsentAndEnrol(2, TestVectors.Unit(random, 16), random);

        var receipt = rig.Consents.Revoke(new Revocation(1, "g-mother", BiometricsRig.Operator, "letter of 2026-09-01"));

        Assert.That(receipt, Is.Not.Null);
        Assert.That(rig.Index.TemplatesOf(1), Is.Empty);
        Assert.That(rig.Identify(face, BiometricPurpose.Access).PupilId, Is.Not.EqualTo(1));
        Assert.That(rig.Store.Count(1), Is.Zero);
        Assert.That(rig.Store.Count(2), Is.EqualTo(3));
        Assert.That(receipt!.What, Does.StartWith("3 templates"));
        Assert.That(receipt.DeletedBy, Is.EqualTo(BiometricsRig.Operator));
        Assert.That(receipt.Sha256, Has.Length.EqualTo(64));
        Assert.That(rig.Store.Receipts(1), Has.Count.EqualTo(1));

        var events = rig.Events.ReadAfter(0);
        Assert.That(events, Has.Count.EqualTo(1));
        Assert.That(events[0].Type, Is.EqualTo(OutgoingEvents.BiometricDataDeletedType));
        using var payload = JsonDocument.Parse(events[0].Payload);
        Assert.That(payload.RootElement.GetProperty("schemaVersion").GetInt32(), Is.EqualTo(1));
        Assert.That(payload.RootElement.GetProperty("receiptSha256").GetString(), Is.EqualTo(receipt.Sha256));
        Assert.That(payload.RootElement.GetProperty("templatesDeleted").GetInt32(), Is.EqualTo(3));
        Assert.That(rig.Consents.EffectiveMask(1), Is.EqualTo(BiometricPurpose.None));
    }

    [Test]
    public void Drained_events_are_not_read_again()
    {
        using var rig = new BiometricsRig();
        var random = new Random(3);
        for (long pupil = 1; pupil <= 3; pupil++)
        {
            rig.ConsentAndEnrol(pupil, TestVectors.Unit(random, 16), random);
            rig.Consents.Revoke(new Revocation(pupil, null, BiometricsRig.Operator, "test"));
        }
        var first = rig.Events.ReadAfter(0, max: 2);
        Assert.That(first.Select(e => e.PupilId), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(rig.Events.MarkSent(first[^1].Seq, rig.Time.GetUtcNow()), Is.EqualTo(2));
        Assert.That(rig.Events.ReadAfter(0).Select(e => e.PupilId), Is.EqualTo(new long[] { 3 }));
    }

    [Test]
    public void Withdrawing_only_the_library_keeps_the_templates_and_narrows_the_mask()
    {
        using var rig = new BiometricsRig();
        var random = new Random(4);
        var face = TestVectors.Unit(random, 16);
        rig.ConsentAndEnrol(1, face, random);
        rig.Consents.RecordGrant(rig.Grant(1, BiometricPurpose.Library));
        Assert.That(rig.Identify(face, BiometricPurpose.Library).PupilId, Is.EqualTo(1));

        var receipt = rig.Consents.Revoke(new Revocation(1, "g-mother", BiometricsRig.Operator, "library no longer", BiometricPurpose.Library));

        Assert.That(receipt, Is.Null);
        Assert.That(rig.Store.Count(1), Is.EqualTo(3));
        Assert.That(rig.Identify(face, BiometricPurpose.Library).Outcome, Is.EqualTo(IdentifyOutcome.Unknown));
        Assert.That(rig.Identify(face, BiometricPurpose.Attendance).PupilId, Is.EqualTo(1));
        Assert.That(rig.Consents.EffectiveMask(1), Is.EqualTo(BiometricPurpose.Access | BiometricPurpose.Attendance));
    }

    [Test]
    public void The_pupils_own_objection_deletes_their_templates_and_blocks_enrolment()
    {
        using var rig = new BiometricsRig();
        var random = new Random(5);
        var face = TestVectors.Unit(random, 16);
        rig.ConsentAndEnrol(1, face, random);

        var receipt = rig.Consents.RecordObjection(new Objection(1, ByPupil: true, null, BiometricsRig.Operator, "told the class teacher"));

        Assert.That(receipt.Reason, Does.Contain("the pupil"));
        Assert.That(rig.Identify(face, BiometricPurpose.Access).Outcome, Is.EqualTo(IdentifyOutcome.Unknown));
        Assert.That(rig.Store.Count(1), Is.Zero);
        rig.Consents.RecordGrant(rig.Grant(1, BiometricPurpose.Access, guardian: "g-father"));
        Assert.That(rig.Consents.EffectiveMask(1), Is.EqualTo(BiometricPurpose.None), "the other guardian's consent does not override the objection");
        Assert.That(() => rig.Enrolment.Enrol(1, [PixelTemplateExtractor.Image(face, 0.9f)], BiometricsRig.Operator),
            Throws.TypeOf<ConsentException>().With.Message.Contains("objection"));
    }

    [Test]
    public void One_guardians_objection_blocks_what_the_other_guardian_signed()
    {
        using var rig = new BiometricsRig();
        var random = new Random(6);
        rig.ConsentAndEnrol(1, TestVectors.Unit(random, 16), random);
        rig.Consents.RecordObjection(new Objection(1, ByPupil: false, "g-father", BiometricsRig.Operator, "objection form"));
        Assert.That(rig.Consents.EffectiveMask(1), Is.EqualTo(BiometricPurpose.None));
        Assert.That(rig.Index.PurposesOf(1), Is.EqualTo(BiometricPurpose.None));
    }

    [Test]
    public void An_expired_consent_stops_matching_after_the_refresh()
    {
        using var rig = new BiometricsRig();
        var random = new Random(7);
        var face = TestVectors.Unit(random, 16);
        rig.Consents.RecordGrant(rig.Grant(1, BiometricPurpose.Access, days: 30));
        rig.Enrolment.Enrol(1, [PixelTemplateExtractor.Image(face, 0.9f)], BiometricsRig.Operator);
        Assert.That(rig.Identify(face, BiometricPurpose.Access).PupilId, Is.EqualTo(1));

        rig.Time.Advance(TimeSpan.FromDays(31));
        Assert.That(rig.Consents.RefreshAll(), Is.EqualTo(1));
        Assert.That(rig.Identify(face, BiometricPurpose.Access).Outcome, Is.EqualTo(IdentifyOutcome.Unknown));
    }

    [Test]
    public void A_restart_loads_templates_masks_and_look_alikes_from_the_store()
    {
        using var rig = new BiometricsRig();
        var random = new Random(8);
        var face = TestVectors.Unit(random, 16);
        rig.ConsentAndEnrol(1, face, random);
        rig.ConsentAndEnrol(2, TestVectors.Near(face, random, 0.05f), random); // a twin

        var restarted = new EmbeddingIndex(rig.Index.Policy);
        var contents = rig.Store.LoadAll();
        restarted.Load(contents.Templates, rig.Consents.AllMasks(), contents.LookAlikes);

        Assert.That(restarted.Count, Is.EqualTo(6));
        Assert.That(restarted.LookAlikesOf(1), Is.EqualTo(new long[] { 2 }));
        Assert.That(restarted.Identify(face, BiometricPurpose.Access, rig.Space).Outcome, Is.EqualTo(IdentifyOutcome.SecondFactorRequired));
    }
}

[TestFixture, Category("Integration")]
public sealed class RetentionSweepTests
{
    [Test]
    public void Unused_templates_and_pupils_who_left_are_deleted_with_receipts()
    {
        using var rig = new BiometricsRig();
        var random = new Random(9);
        var faces = Enumerable.Range(0, 3).Select(_ => TestVectors.Unit(random, 16)).ToArray();
        for (int i = 0; i < 3; i++)
            rig.ConsentAndEnrol(i + 1, faces[i], random);
        rig.Time.Advance(TimeSpan.FromDays(200));
        rig.Store.MarkUsed(rig.Index.TemplatesOf(1), rig.Time.GetUtcNow());

        var result = new RetentionSweep(rig.Store, rig.Index, rig.Time).Run(unusedDays: 180, pupilsWhoLeft: [3]);

        Assert.That(result.PupilsWhoLeft, Is.EqualTo(1));
        Assert.That(result.TemplatesExpired, Is.EqualTo(3), "pupil 2's templates were unused for 200 days");
        Assert.That(rig.Store.Count(), Is.EqualTo(3));
        Assert.That(rig.Index.TemplatesOf(2), Is.Empty);
        Assert.That(rig.Index.TemplatesOf(3), Is.Empty);
        Assert.That(rig.Identify(faces[0], BiometricPurpose.Access).PupilId, Is.EqualTo(1));
        Assert.That(rig.Store.Receipts(3).Single().Reason, Is.EqualTo("pupil left the school"));
        Assert.That(rig.Events.ReadAfter(0), Has.Count.EqualTo(2));
    }
}
