using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests;

[TestFixture, Category("Unit")]
public sealed class ContractsTests
{
    [Test]
    public void There_is_no_marketing_purpose()
    {
        var names = Enum.GetNames<BiometricPurpose>();
        Assert.That(names, Has.None.Contains("Market").IgnoreCase);
        Assert.That(names, Is.EquivalentTo(new[] { "None", "Access", "Attendance", "Safety", "CanteenPayment", "Library" }));
    }

    [Test]
    public void A_rejection_carries_its_reason_and_no_template()
    {
        var rejected = TemplateExtraction.Rejected("no face");
        Assert.That(rejected.Succeeded, Is.False);
        Assert.That(rejected.RejectedBecause, Is.EqualTo("no face"));
    }
}
