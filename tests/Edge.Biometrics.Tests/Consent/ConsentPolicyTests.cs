using Kezekshi.Edge.Biometrics.Consent;
using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests.Consent;

[TestFixture, Category("Unit")]
public sealed class ConsentPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 9, 1, 8, 0, 0, TimeSpan.Zero);

    private static ConsentGrant Grant(BiometricPurpose purposes, string guardian = "g1", int days = 365) =>
        new(1, guardian, "Guardian", Now.AddDays(-1), new string('b', 64), purposes, Now.AddDays(days), "office", false);

    [Test]
    public void Canteen_payment_and_library_need_their_own_consent_form()
    {
        Assert.That(() => ConsentPolicy.Validate(Grant(BiometricPurpose.Access | BiometricPurpose.CanteenPayment)),
            Throws.TypeOf<ConsentException>().With.Message.Contains("'canteen-payment' needs its own consent form"));
        Assert.That(() => ConsentPolicy.Validate(Grant(BiometricPurpose.Library | BiometricPurpose.Attendance)),
            Throws.TypeOf<ConsentException>().With.Message.Contains("'library' needs its own consent form"));
        Assert.DoesNotThrow(() => ConsentPolicy.Validate(Grant(BiometricPurpose.CanteenPayment)));
        Assert.DoesNotThrow(() => ConsentPolicy.Validate(Grant(BiometricPurpose.Access | BiometricPurpose.Attendance | BiometricPurpose.Safety)));
    }

    [Test]
    public void A_grant_without_purpose_document_hash_or_with_an_unknown_purpose_is_refused()
    {
        Assert.That(() => ConsentPolicy.Validate(Grant(BiometricPurpose.None)), Throws.TypeOf<ConsentException>().With.Message.Contains("grants no purpose"));
        Assert.That(() => ConsentPolicy.Validate(Grant((BiometricPurpose)64)), Throws.TypeOf<ConsentException>().With.Message.Contains("does not exist"));
        Assert.That(() => ConsentPolicy.Validate(Grant(BiometricPurpose.Access) with { DocumentSha256 = "abc" }), Throws.TypeOf<ConsentException>().With.Message.Contains("sha256sum"));
        Assert.That(() => ConsentPolicy.Validate(Grant(BiometricPurpose.Access) with { ExpiresAt = Now.AddDays(-5) }), Throws.TypeOf<ConsentException>().With.Message.Contains("before it was given"));
    }

    [Test]
    public void The_mask_is_the_union_of_the_guardians_active_grants()
    {
        var mask = ConsentPolicy.EffectiveMask([Grant(BiometricPurpose.Access), Grant(BiometricPurpose.Library, "g2")], 0, Now);
        Assert.That(mask, Is.EqualTo(BiometricPurpose.Access | BiometricPurpose.Library));
    }

    [Test]
    public void An_expired_grant_counts_for_nothing()
    {
        var mask = ConsentPolicy.EffectiveMask([Grant(BiometricPurpose.Access, days: 10), Grant(BiometricPurpose.CanteenPayment, days: 400)], 0, Now.AddDays(30));
        Assert.That(mask, Is.EqualTo(BiometricPurpose.CanteenPayment));
    }

    [Test]
    public void Any_objection_blocks_every_purpose_whatever_the_other_guardian_signed()
    {
        Assert.That(ConsentPolicy.EffectiveMask([Grant(BiometricPurpose.Access | BiometricPurpose.Attendance), Grant(BiometricPurpose.Library, "g2")], 1, Now), Is.EqualTo(BiometricPurpose.None));
    }
}
