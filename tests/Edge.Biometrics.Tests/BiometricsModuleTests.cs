using Kezekshi.Edge.Biometrics.Index;
using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests;

[TestFixture, Category("Integration")]
public sealed class BiometricsModuleTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => Directory.CreateDirectory(_directory = Path.Combine(Path.GetTempPath(), "kz-module-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void DeleteDirectory()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static BiometricsOptions Options() => new()
    {
        Enabled = true,
        Dpia = new DpiaRecord { Reference = "DPIA-2026-07", ApprovedBy = "head teacher", ApprovedOn = new DateOnly(2026, 8, 20) },
        Match = new MatchPolicy { AcceptThreshold = 0.8f, Margin = 0.05f },
    };

    [Test]
    public void Nothing_is_opened_until_the_dpia_is_recorded()
    {
        Assert.That(() => BiometricsModule.Open(new BiometricsOptions { Enabled = true }, _directory), Throws.TypeOf<BiometricsDisabledException>().With.Message.Contains("Biometrics:Dpia:Reference"));
        Assert.That(File.Exists(Path.Combine(_directory, "biometrics.db")), Is.False, "no biometric file is created while biometrics are off");
    }

    [Test]
    public void A_restarted_module_identifies_for_the_consented_purposes_only()
    {
        var time = new ManualTime();
        var random = new Random(1);
        var face = TestVectors.Unit(random, 16);
        var extractor = new PixelTemplateExtractor();
        using (var module = BiometricsModule.Open(Options(), _directory, time))
        {
            module.Consents.RecordGrant(new Kezekshi.Edge.Biometrics.Consent.ConsentGrant(1, "g1", "Guardian", time.GetUtcNow(), new string('c', 64), BiometricPurpose.Access, time.GetUtcNow().AddDays(300), "office", false));
            module.Enrolment(extractor).Enrol(1, [PixelTemplateExtractor.Image(face, 0.9f)], "office");
        }
        using var restarted = BiometricsModule.Open(Options(), _directory, time);
        var space = new TemplateSpace(BiometricModality.Face, extractor.ModelId);
        Assert.That(restarted.Index.Identify(face, BiometricPurpose.Access, space).PupilId, Is.EqualTo(1));
        Assert.That(restarted.Index.Identify(face, BiometricPurpose.Attendance, space).Outcome, Is.EqualTo(IdentifyOutcome.Unknown));
        Assert.That(restarted.Audit.Verify().IsIntact, Is.True);
    }
}
