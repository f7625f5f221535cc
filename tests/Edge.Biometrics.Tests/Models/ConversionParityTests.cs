using System.Diagnostics;
using System.Text.Json;
using Kezekshi.Edge.Biometrics.Onnx;

namespace Kezekshi.Edge.Biometrics.Tests.Models;

/// <summary>
/// Each converted ONNX model against its TFJS source, run by @tensorflow/tfjs on node's CPU backend
/// (tools/ModelConverter/parity/run-tfjs.mjs) on the same deterministic input.
/// </summary>
[TestFixture]
[Category("Integration")]
[NonParallelizable]
public sealed class ConversionParityTests
{
    /// <summary>Largest allowed |ONNX − TFJS| per value, scaled by max(1, |TFJS value|): float32 summation order differs, nothing more.</summary>
    public const double Tolerance = 1e-3;

    [TestCase("blazeface")]
    [TestCase("mobilefacenet")]
    [TestCase("faceres")]
    [TestCase("handdetect")]
    [TestCase("handlandmark-lite")]
    public void Converted_model_matches_its_TFJS_source_on_the_same_input(string model)
    {
        var reference = RunTfjs(model);
        var input = reference.RootElement.GetProperty("input");
        var shape = input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        var data = new float[count];
        for (var i = 0; i < count; i++)
            data[i] = (float)(0.5 + (0.5 * Math.Sin(0.37 * i)));

        using var session = TestAssets.Manifest.Open(TestAssets.Runtime, model, new OnnxSessionOptions(IntraOpThreads: 2));
        using var outputs = session.Run(new OnnxInput(session.Inputs[0].Name, data, shape));

        var compared = 0;
        foreach (var expected in reference.RootElement.GetProperty("outputs").EnumerateObject())
        {
            var actual = outputs[expected.Name];
            var values = expected.Value.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.That(actual.Values.Length, Is.EqualTo(values.Length), $"{model}/{expected.Name}: element count");
            var worst = 0.0;
            for (var i = 0; i < values.Length; i++)
                worst = Math.Max(worst, Math.Abs(actual.Values[i] - values[i]) / Math.Max(1.0, Math.Abs(values[i])));
            TestContext.Out.WriteLine($"{model}/{expected.Name}: {values.Length} values, max scaled |diff| = {worst:E2}");
            Assert.That(worst, Is.LessThanOrEqualTo(Tolerance), $"{model}/{expected.Name}");
            compared++;
        }
        Assert.That(compared, Is.GreaterThan(0));
    }

    private static JsonDocument RunTfjs(string model)
    {
        var node = FindOnPath("node");
        if (node is null)
            Assert.Ignore("node is not installed, so the TFJS source cannot be run for the parity check (install nodejs and run tools/setup.sh).");
        var tfjs = Path.Combine(TestAssets.Cache, "tfjs");
        Assert.That(Path.Combine(tfjs, "node_modules", "@tensorflow", "tfjs", "package.json"), Does.Exist, "@tensorflow/tfjs is not installed in .cache/tfjs: run tools/setup.sh");
        var script = Path.Combine(TestAssets.RepositoryRoot, "tools", "ModelConverter", "parity", "run-tfjs.mjs");
        var output = Path.Combine(Path.GetTempPath(), $"kezekshi-parity-{model}-{Environment.ProcessId}.json");
        var start = new ProcessStartInfo(node!, [script, tfjs, Path.Combine(TestAssets.HumanModels, model + ".json"), output])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.Zero, "run-tfjs.mjs failed: " + stderr.Result);
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(output));
        }
        finally
        {
            File.Delete(output);
        }
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, name))
            .FirstOrDefault(File.Exists);
}
