using Kezekshi.Edge.Biometrics.Models;

namespace Kezekshi.Edge.Biometrics.Tests.Models;

[TestFixture]
[Category("Integration")]
public sealed class ModelManifestTests
{
    [Test]
    public void The_converted_models_match_the_SHA_256_the_manifest_pins()
    {
        var manifest = TestAssets.Manifest;

        foreach (var name in new[] { "blazeface", "mobilefacenet" })
            Assert.That(manifest.VerifiedPath(name), Does.Exist);
        Assert.That(manifest.Entries.Select(e => e.Licence), Has.All.Not.Empty);
    }

    [Test]
    public void A_tampered_model_is_refused_as_tampered_or_different()
    {
        var folder = Directory.CreateTempSubdirectory("kezekshi-models-").FullName;
        try
        {
            var original = TestAssets.Manifest.VerifiedPath("blazeface");
            var copy = Path.Combine(folder, "blazeface.onnx");
            var bytes = File.ReadAllBytes(original);
            bytes[bytes.Length / 2] ^= 0x01; // one bit
            File.WriteAllBytes(copy, bytes);
            var manifest = ModelManifest.Load(Path.Combine(TestAssets.RepositoryRoot, "models", "manifest.json"), folder);

            var e = Assert.Throws<ModelIntegrityException>(() => manifest.Open(TestAssets.Runtime, "blazeface"));

            Assert.That(e!.Message, Does.Contain("tampered with or is a different model").And.Contain(copy));
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    [Test]
    public void A_missing_model_file_tells_to_run_the_set_up()
    {
        var folder = Directory.CreateTempSubdirectory("kezekshi-models-").FullName;
        try
        {
            var manifest = ModelManifest.Load(Path.Combine(TestAssets.RepositoryRoot, "models", "manifest.json"), folder);

            var e = Assert.Throws<ModelIntegrityException>(() => manifest.VerifiedPath("mobilefacenet"));

            Assert.That(e!.Message, Does.Contain("tools/setup.sh"));
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    [Test]
    public void An_unknown_model_name_lists_the_ones_the_manifest_has()
    {
        var e = Assert.Throws<ModelIntegrityException>(() => _ = TestAssets.Manifest["arcface-r100"]);

        Assert.That(e!.Message, Does.Contain("mobilefacenet"));
    }
}
