using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Models;
using Kezekshi.Edge.Biometrics.Onnx;
using Kezekshi.Edge.Biometrics.Palm;
using Kezekshi.Edge.Biometrics.Tests.Face;
using Kezekshi.Edge.Biometrics.Tests.Models;

namespace Kezekshi.Edge.Biometrics.Tests.Palm;

/// <summary>
/// The palm pipeline with the real converted models (handdetect, handlandmark-lite) in real ONNX Runtime. There is no
/// hand photo on this machine or in a registry package checked, so these show that the models load, run and give the
/// documented shapes, that pictures without a hand are refused as "no hand", and that templates from the aligned
/// stages go through the index with purpose limits. They do NOT show detection or accuracy on real hands.
/// </summary>
[TestFixture]
[Category("Integration")]
public sealed class PalmPipelineTests
{
    private PalmTemplateExtractor _extractor = null!;

    private static string ManifestPath => Path.Combine(TestAssets.RepositoryRoot, "models", "manifest.json");

    private static string ModelsFolder => Path.Combine(TestAssets.Cache, "models");

    private static PalmPipelineOptions Options() => new() { ManifestPath = ManifestPath, ModelsFolder = ModelsFolder };

    [OneTimeSetUp]
    public void Load() => _extractor = PalmTemplateExtractor.Create(Options());

    [OneTimeTearDown]
    public void Unload() => _extractor.Dispose();

    [Test]
    public void The_extractor_names_its_models_and_makes_palm_templates()
    {
        Assert.That(_extractor.Modality, Is.EqualTo(BiometricModality.Palm));
        Assert.That(_extractor.ModelId, Does.StartWith("palm-compcode-v1+handdetect+handlandmark-lite#"));
        Assert.That(_extractor.Dimensions, Is.EqualTo(512));
    }

    [Test]
    public void Both_models_run_in_onnx_runtime_and_give_the_documented_shapes()
    {
        var runtime = OnnxRuntime.Load(new OnnxRuntimeOptions());
        var manifest = ModelManifest.Load(ManifestPath, ModelsFolder);
        using var detector = manifest.Open(runtime, "handdetect");
        using var landmarks = manifest.Open(runtime, "handlandmark-lite");
        var grey = new float[256 * 256 * 3];
        Array.Fill(grey, 0f);
        using (var outputs = detector.Run(new OnnxInput(detector.Inputs[0].Name, grey, [1, 256, 256, 3])))
        {
            Assert.That(outputs[0].Shape, Is.EqualTo(new long[] { 1, 2944, 19 }));
            // On a flat grey input no anchor is a palm: every score logit is negative.
            var raw = outputs[0].Values;
            var maxLogit = float.MinValue;
            for (var i = 0; i < 2944; i++)
                maxLogit = Math.Max(maxLogit, raw[i * 19]);
            Assert.That(maxLogit, Is.LessThan(0));
        }
        var crop = new float[224 * 224 * 3];
        Array.Fill(crop, 0.5f);
        using (var outputs = landmarks.Run(new OnnxInput(landmarks.Inputs[0].Name, crop, [1, 224, 224, 3])))
        {
            Assert.That(outputs["Identity"].Shape, Is.EqualTo(new long[] { 1, 63 }));
            Assert.That(outputs["Identity_1"].Shape, Is.EqualTo(new long[] { 1, 1 }));
            Assert.That(outputs["Identity_2"].Shape, Is.EqualTo(new long[] { 1, 1 }));
            Assert.That(outputs["Identity_1"].Values[0], Is.InRange(0f, 0.1f), "presence is a probability, low on a flat crop");
        }
    }

    [Test]
    public void A_blank_picture_is_refused_with_no_hand()
    {
        var blank = new RawImage(640, 480, 3, new byte[640 * 480 * 3]);
        var trace = _extractor.ExtractWithTrace(blank);
        Assert.That(trace.Result.Succeeded, Is.False);
        Assert.That(trace.Result.RejectedBecause, Does.StartWith("no hand found"));
        Assert.That(trace.PalmsFound, Is.Zero);
    }

    [Test]
    public void Faces_are_refused_as_no_hand()
    {
        var decoder = new FfmpegImageDecoder();
        foreach (var (person, image) in new[] { (1, 1), (7, 3), (22, 5) })
        {
            var face = OrlImages.Padded(decoder.DecodeFile(Path.Combine(TestAssets.OrlFaces, $"s{person}", $"{image}.pgm")));
            var trace = _extractor.ExtractWithTrace(face);
            TestContext.Out.WriteLine($"s{person}/{image}: palms {trace.PalmsFound}, presence {trace.Hand?.Presence:0.00}: {trace.Result.RejectedBecause}");
            Assert.That(trace.Result.Succeeded, Is.False, $"s{person}/{image}.pgm gave a palm template");
            Assert.That(trace.Result.RejectedBecause, Does.StartWith("no hand found").Or.StartWith("palm too small").Or.Contain("hands in the picture"));
        }
    }

    [Test]
    public void Aligned_palms_enrol_and_identify_through_the_index_with_purpose_limits()
    {
        // Landmarks are given (the drawn hand's exact ones): this exercises alignment → gate → descriptor → index,
        // not the two models, which do not find the drawn hand as a hand.
        var index = new EmbeddingIndex(new MatchPolicy { AcceptThreshold = 0.5f, Margin = 0.05f });
        var hands = Enumerable.Range(0, 8).Select(seed => new SyntheticHand(seed + 10)).ToArray();
        var templates = new List<IndexedTemplate>();
        for (var p = 0; p < hands.Length; p++)
        {
            var result = _extractor.ExtractFromLandmarks(hands[p].Draw(400, 400, 200, 210, 150, 0, noiseSeed: p), SyntheticHand.Landmarks(200, 210, 150, 0)).Result;
            Assert.That(result.Succeeded, Is.True, result.RejectedBecause);
            templates.Add(new IndexedTemplate(p + 1, p + 1, BiometricModality.Palm, _extractor.ModelId, result.Template!));
        }
        index.Load(templates, templates.ToDictionary(t => t.PupilId, t => t.PupilId == 4 ? BiometricPurpose.CanteenPayment : BiometricPurpose.Access), []);
        var space = new TemplateSpace(BiometricModality.Palm, _extractor.ModelId);

        // Pupil 7 again: elsewhere in the picture, turned 40°, 20% smaller, other noise.
        var probe = _extractor.ExtractFromLandmarks(hands[6].Draw(480, 400, 260, 190, 120, 0.7f, noiseSeed: 99), SyntheticHand.Landmarks(260, 190, 120, 0.7f)).Result;
        Assert.That(probe.Succeeded, Is.True, probe.RejectedBecause);
        Assert.That(index.Identify(probe.Template!, BiometricPurpose.Access, space).PupilId, Is.EqualTo(7));

        var canteen = _extractor.ExtractFromLandmarks(hands[3].Draw(400, 400, 190, 200, 140, -0.5f, noiseSeed: 98), SyntheticHand.Landmarks(190, 200, 140, -0.5f)).Result.Template!;
        Assert.That(index.Identify(canteen, BiometricPurpose.CanteenPayment, space).PupilId, Is.EqualTo(4));
        Assert.That(index.Identify(canteen, BiometricPurpose.Access, space).PupilId, Is.Not.EqualTo(4), "pupil 4 consented to canteen payment only");
    }

    [Test]
    public void A_model_in_the_wrong_role_or_tampered_with_is_refused_with_a_clear_error()
    {
        var wrongRole = Assert.Throws<ModelIntegrityException>(() => PalmTemplateExtractor.Create(Options() with { DetectorModel = "blazeface" }));
        Assert.That(wrongRole!.Message, Does.Contain("palm pipeline"));

        var folder = Directory.CreateTempSubdirectory("palm-models-");
        try
        {
            var bytes = File.ReadAllBytes(Path.Combine(ModelsFolder, "handdetect.onnx"));
            bytes[bytes.Length / 2] ^= 0x5A;
            File.WriteAllBytes(Path.Combine(folder.FullName, "handdetect.onnx"), bytes);
            var tampered = Assert.Throws<ModelIntegrityException>(() => PalmTemplateExtractor.Create(Options() with { ModelsFolder = folder.FullName }));
            Assert.That(tampered!.Message, Does.Contain("handdetect"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
