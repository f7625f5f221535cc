using System.Security.Cryptography;
using Kezekshi.Edge.ModelConverter;
using Kezekshi.Edge.ModelConverter.Onnx;
using Kezekshi.Edge.ModelConverter.Tfjs;

namespace Kezekshi.Edge.Biometrics.Tests.Models;

[TestFixture]
public sealed class ModelConverterTests
{
    [Test]
    [Category("Unit")]
    public void Varints_and_fields_are_encoded_as_the_protobuf_spec_shows()
    {
        // protobuf.dev encoding guide: field 1 = 150 is 08 96 01; a string "testing" in field 2 is 12 07 74 65 73 74 69 6e 67.
        var w = new ProtoWriter();
        w.Int(1, 150);
        w.String(2, "testing");

        Assert.That(Convert.ToHexStringLower(w.ToArray()), Is.EqualTo("089601120774657374696e67"));
    }

    [Test]
    [Category("Unit")]
    public void A_negative_int64_takes_ten_bytes()
    {
        var w = new ProtoWriter();
        w.Int(1, -1);

        Assert.That(Convert.ToHexStringLower(w.ToArray()), Is.EqualTo("08ffffffffffffffffff01"));
    }

    [Test]
    [Category("Unit")]
    public void An_unsupported_op_stops_the_conversion_with_its_name()
    {
        var folder = Directory.CreateTempSubdirectory("kezekshi-tfjs-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "model.json"), """
                { "format": "graph-model",
                  "modelTopology": { "node": [
                    { "name": "x", "op": "Placeholder", "attr": { "shape": { "shape": { "dim": [ { "size": "1" }, { "size": "4" } ] } } } },
                    { "name": "y", "op": "Erfinv", "input": [ "x" ] } ] },
                  "weightsManifest": [] }
                """);
            var graph = TfjsGraph.Load(Path.Combine(folder, "model.json"));

            var e = Assert.Throws<NotSupportedException>(() => TfjsToOnnx.Convert(graph, "test"));

            Assert.That(e!.Message, Does.Contain("Erfinv"));
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    [Test]
    [Category("Integration")]
    public void A_fresh_conversion_gives_the_bytes_the_manifest_pins()
    {
        var model = ModelCatalogue.All.Single(m => m.Name == "blazeface");

        var first = ModelCatalogue.Convert(model, TestAssets.HumanModels);
        var second = ModelCatalogue.Convert(model, TestAssets.HumanModels);

        Assert.That(second, Is.EqualTo(first), "deterministic");
        Assert.That(Convert.ToHexStringLower(SHA256.HashData(first)), Is.EqualTo(TestAssets.Manifest["blazeface"].Sha256));
    }
}
