using Kezekshi.Edge.Biometrics.Identification;
using Kezekshi.Edge.Biometrics.Index;

namespace Kezekshi.Edge.Biometrics.Tests.Identification;

[TestFixture]
[Category("Integration")]
public sealed class BiometricIdentifierTests
{
    [Test]
    public void A_pupil_is_found_only_for_the_purposes_their_parent_consented_to()
    {
        using var rig = new BiometricsRig();
        var random = new Random(7);
        var face = TestVectors.Unit(random, 16);
        rig.ConsentAndEnrol(1042, face, random);
        var identifier = new BiometricIdentifier(rig.Index, rig.Store, rig.Extractor);
        var image = PixelTemplateExtractor.Image(TestVectors.Near(face, random, 0.1f), 0.9f);

        var atGate = identifier.Identify(image, BiometricPurpose.Access);
        var atTill = identifier.Identify(image, BiometricPurpose.CanteenPayment);

        Assert.That(atGate.IsAccepted, atGate.Reason);
        Assert.That(atGate.Decision!.PupilId, Is.EqualTo(1042));
        Assert.That(atTill.IsAccepted, Is.False, "no canteen-payment consent: the till must not find the pupil");
        Assert.That(atTill.Reason, Does.Contain("CanteenPayment").Or.Contain("consent"));
    }

    [Test]
    public void An_image_without_a_face_gives_the_extractors_reason_and_no_decision()
    {
        using var rig = new BiometricsRig();
        var identifier = new BiometricIdentifier(rig.Index, rig.Store, rig.Extractor);
        var blank = new RawImage(32, 2, 1, Enumerable.Repeat((byte)128, 64).ToArray());

        var result = identifier.Identify(blank, BiometricPurpose.Access);

        Assert.That(result.Decision, Is.Null);
        Assert.That(result.Reason, Is.EqualTo("no face found"));
    }

    [Test]
    public void A_match_acted_on_is_audited_with_purpose_and_actor_and_restarts_the_expiry_clock()
    {
        using var rig = new BiometricsRig();
        var random = new Random(11);
        var face = TestVectors.Unit(random, 16);
        rig.ConsentAndEnrol(7, face, random);
        var identifier = new BiometricIdentifier(rig.Index, rig.Store, rig.Extractor);
        var decision = identifier.Identify(PixelTemplateExtractor.Image(TestVectors.Near(face, random, 0.1f), 0.9f), BiometricPurpose.Access).Decision!;
        var before = rig.Store.UnusedSince(rig.Time.GetUtcNow().AddSeconds(1));
        rig.Time.Advance(TimeSpan.FromMinutes(5));

        identifier.RecordUse(decision, BiometricPurpose.Access, "gate:main-entrance");

        var last = rig.Audit.Read().Last();
        Assert.Multiple(() =>
        {
            Assert.That(last.Entry.Action, Is.EqualTo("match"));
            Assert.That(last.Entry.Actor, Is.EqualTo("gate:main-entrance"));
            Assert.That(last.Entry.Purpose, Is.EqualTo("access"));
            Assert.That(last.Entry.Subject, Is.EqualTo("pupil:7"));
            Assert.That(rig.Audit.Verify().IsIntact);
            Assert.That(before[7], Does.Contain(decision.Candidates[0].TemplateId), "enrolled, never used");
            Assert.That(rig.Store.UnusedSince(rig.Time.GetUtcNow().AddMinutes(-1)).GetValueOrDefault(7, []), Does.Not.Contain(decision.Candidates[0].TemplateId), "used just now");
        });
    }
}
