using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests;

[TestFixture, Category("Unit")]
public sealed class BiometricsGuardTests
{
    private static readonly DateOnly Today = new(2026, 9, 1);

    private static BiometricsOptions Complete() => new()
    {
        Enabled = true,
        Dpia = new DpiaRecord { Reference = "DPIA-2026-07", ApprovedBy = "A. Nurlanovna, head teacher", ApprovedOn = new DateOnly(2026, 8, 20) },
    };

    [Test]
    public void Biometrics_are_off_by_default_and_the_message_names_the_setting()
    {
        Assert.That(BiometricsGuard.IsAllowed(new BiometricsOptions(), Today, out string reason), Is.False);
        Assert.That(reason, Does.Contain("Biometrics:Enabled"));
        Assert.That(() => BiometricsGuard.EnsureAllowed(new BiometricsOptions()), Throws.TypeOf<BiometricsDisabledException>());
    }

    [Test]
    public void Each_missing_dpia_field_is_named()
    {
        var options = Complete();
        options.Dpia.Reference = " ";
        Assert.That(BiometricsGuard.IsAllowed(options, Today, out string reason), Is.False);
        Assert.That(reason, Does.Contain("Biometrics:Dpia:Reference"));

        options = Complete();
        options.Dpia.ApprovedBy = null;
        BiometricsGuard.IsAllowed(options, Today, out reason);
        Assert.That(reason, Does.Contain("Biometrics:Dpia:ApprovedBy"));

        options = Complete();
        options.Dpia.ApprovedOn = null;
        BiometricsGuard.IsAllowed(options, Today, out reason);
        Assert.That(reason, Does.Contain("Biometrics:Dpia:ApprovedOn"));

        options = Complete();
        options.Dpia.ApprovedOn = Today.AddDays(3);
        Assert.That(BiometricsGuard.IsAllowed(options, Today, out reason), Is.False);
        Assert.That(reason, Does.Contain("in the future"));
    }

    [Test]
    public void A_recorded_and_approved_dpia_turns_biometrics_on()
    {
        Assert.That(BiometricsGuard.IsAllowed(Complete(), Today, out string reason), Is.True);
        Assert.That(reason, Does.Contain("DPIA-2026-07"));
    }
}
