using Kezekshi.Edge.Biometrics.Onnx;
using Kezekshi.Edge.Biometrics.Tests.Models;
using Kezekshi.Edge.ModelConverter.Onnx;

namespace Kezekshi.Edge.Biometrics.Tests.Onnx;

[TestFixture]
[Category("Integration")]
public sealed class OnnxBindingTests
{
    /// <summary>Y = X · W + B, with X [2,3] an input, W [3,2] and B [2] initialisers: small enough to check by hand.</summary>
    private static byte[] TinyModel()
    {
        var b = new OnnxModelBuilder("tiny");
        b.AddInput(new OnnxValueInfo("X", [2, 3]));
        b.AddInitializer(OnnxTensor.FromFloats("W", [3, 2], [1, 2, 3, 4, 5, 6]));
        b.AddInitializer(OnnxTensor.FromFloats("B", [2], [0.5f, -1]));
        b.AddNode("MatMul", "matmul", ["X", "W"], ["XW"]);
        b.AddNode("Add", "add", ["XW", "B"], ["Y"]);
        b.AddOutput(new OnnxValueInfo("Y", [2, 2]));
        return b.Build("test", "1");
    }

    [Test]
    public void A_model_built_by_the_protobuf_writer_runs_and_gives_the_hand_computed_result()
    {
        using var session = TestAssets.Runtime.OpenSession(TinyModel(), "tiny MatMul+Add", new OnnxSessionOptions(IntraOpThreads: 1));

        Assert.That(session.Inputs.Single().Name, Is.EqualTo("X"));
        Assert.That(session.Inputs.Single().Shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(session.Outputs.Single().Name, Is.EqualTo("Y"));

        float[] x = [1, 0, 2, -1, 1, 0];
        using var outputs = session.Run(new OnnxInput("X", x, [2, 3]));
        var y = outputs["Y"];
        Assert.That(y.Shape, Is.EqualTo(new long[] { 2, 2 }));
        // row 0: [1,0,2]·W = [1+10, 2+12] = [11, 14]; row 1: [-1,1,0]·W = [2, 2]; plus B
        Assert.That(y.Values.ToArray(), Is.EqualTo(new[] { 11.5f, 13f, 2.5f, 1f }));
    }

    [Test]
    public void A_wrong_input_shape_gives_ONNX_Runtimes_own_message()
    {
        using var session = TestAssets.Runtime.OpenSession(TinyModel(), "tiny MatMul+Add");

        var e = Assert.Throws<OnnxRuntimeException>(() => session.Run(new OnnxInput("X", new float[8], [2, 4])).Dispose());

        Assert.That(e!.Message, Does.StartWith("ONNX Runtime failed while running the model:"));
        Assert.That(e.Message, Does.Contain("X").And.Contain("dimension").IgnoreCase);
    }

    [Test]
    public void A_broken_model_file_gives_a_clear_error_naming_the_model()
    {
        var e = Assert.Throws<OnnxRuntimeException>(() => TestAssets.Runtime.OpenSession([1, 2, 3, 4, 5], "five junk bytes").Dispose());

        Assert.That(e!.Message, Does.Contain("loading the model five junk bytes"));
    }

    [Test]
    public void A_missing_library_gives_a_clear_error_naming_the_path_and_the_set_up_script()
    {
        var folder = Path.Combine(Path.GetTempPath(), "kezekshi-no-ort-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var e = Assert.Throws<OnnxRuntimeNotFoundException>(() => OnnxRuntime.Load(new OnnxRuntimeOptions { LibraryFolder = folder }));

            Assert.That(e!.Message, Does.Contain(folder));
            Assert.That(e.Message, Does.Contain("tools/setup.sh"));
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    [Test]
    public void The_loaded_library_is_ONNX_Runtime_1_30()
    {
        _ = TestAssets.Runtime;

        Assert.That(OnnxRuntime.Version, Does.StartWith("1.30"));
    }
}
