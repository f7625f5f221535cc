using Kezekshi.Edge.Biometrics.Face;
using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Models;
using Kezekshi.Edge.Biometrics.Tests.Models;

namespace Kezekshi.Edge.Biometrics.Tests.Face;

/// <summary>The whole face pipeline with the real converted models on ORL images (Olivetti Research Laboratory).</summary>
[TestFixture]
[Category("Integration")]
public sealed class FacePipelineTests
{
    /// <summary>
    /// The operating threshold these tests hold the default pipeline to (faceres cosine, the value recommended in
    /// docs/biometrics-models.md with the FAR/TAR it gives on ORL).
    /// </summary>
    public const float Threshold = 0.60f;

    private FaceTemplateExtractor _extractor = null!;
    private readonly FfmpegImageDecoder _decoder = new();

    [OneTimeSetUp]
    public void Load() => _extractor = FaceTemplateExtractor.Create(Options());

    [OneTimeTearDown]
    public void Unload() => _extractor.Dispose();

    private static FacePipelineOptions Options() => new()
    {
        ManifestPath = Path.Combine(TestAssets.RepositoryRoot, "models", "manifest.json"),
        ModelsFolder = Path.Combine(TestAssets.Cache, "models"),
    };

    private RawImage Orl(int person, int image) => OrlImages.Padded(_decoder.DecodeFile(Path.Combine(TestAssets.OrlFaces, $"s{person}", $"{image}.pgm")));

    private float[] Template(int person, int image)
    {
        var result = _extractor.Extract(Orl(person, image));
        Assert.That(result.Succeeded, $"s{person}/{image}.pgm refused: {result.RejectedBecause}");
        return result.Template!;
    }

    private static float Dot(float[] a, float[] b) => a.Zip(b, (x, y) => x * y).Sum();

    [Test]
    public void The_same_person_scores_above_the_threshold_and_different_people_below()
    {
        int[] people = [1, 5, 10, 20, 33];
        var first = people.ToDictionary(p => p, p => Template(p, 1));
        var second = people.ToDictionary(p => p, p => Template(p, 2));

        foreach (var p in people)
            TestContext.Out.WriteLine($"s{p}: same {Dot(first[p], second[p]):0.000}; others {string.Join(" ", people.Where(q => q != p).Select(q => Dot(first[p], second[q]).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)))}");
        foreach (var p in people)
        {
            Assert.That(Dot(first[p], second[p]), Is.GreaterThan(Threshold), $"s{p}/1 vs s{p}/2");
            foreach (var q in people.Where(q => q != p))
                Assert.That(Dot(first[p], second[q]), Is.LessThan(Threshold), $"s{p}/1 vs s{q}/2");
        }
    }

    [Test]
    public void Each_persons_second_image_is_closest_to_their_own_first_image()
    {
        int[] people = [1, 5, 10, 20, 33];
        var first = people.ToDictionary(p => p, p => Template(p, 1));

        foreach (var p in people)
        {
            var probe = Template(p, 2);
            var best = people.MaxBy(q => Dot(first[q], probe));
            Assert.That(best, Is.EqualTo(p), $"s{p}/2 matched s{best}/1");
        }
    }

    [Test]
    public void A_template_is_unit_length_with_the_models_dimensions_and_id()
    {
        var template = Template(3, 1);

        Assert.That(_extractor.Modality, Is.EqualTo(BiometricModality.Face));
        Assert.That(_extractor.Dimensions, Is.EqualTo(1024));
        Assert.That(template, Has.Length.EqualTo(1024));
        Assert.That(MathF.Sqrt(Dot(template, template)), Is.EqualTo(1f).Within(1e-4));
        Assert.That(_extractor.ModelId, Does.StartWith("faceres#"));
    }

    [Test]
    public void The_second_embedder_mobilefacenet_also_ranks_each_persons_own_image_first()
    {
        using var mobilefacenet = FaceTemplateExtractor.Create(Options() with { EmbedderModel = "mobilefacenet" });
        int[] people = [5, 10, 20, 33];
        float[] Of(int p, int i) => mobilefacenet.Extract(Orl(p, i)).Template ?? throw new AssertionException($"s{p}/{i}.pgm refused");
        var first = people.ToDictionary(p => p, p => Of(p, 1));

        Assert.That(mobilefacenet.Dimensions, Is.EqualTo(192));
        foreach (var p in people)
        {
            var probe = Of(p, 2);
            Assert.That(people.MaxBy(q => Dot(first[q], probe)), Is.EqualTo(p), $"s{p}/2");
        }
    }

    [Test]
    public void The_detector_finds_one_face_with_its_keypoints_in_anatomical_order()
    {
        var trace = _extractor.ExtractWithTrace(Orl(7, 1));

        Assert.That(trace.FacesFound, Is.EqualTo(1));
        var face = trace.Face!;
        Assert.That(face.RightEye.X, Is.LessThan(face.LeftEye.X), "the subject's right eye is on the image left");
        Assert.That(face.Nose.Y, Is.GreaterThan(Math.Max(face.RightEye.Y, face.LeftEye.Y)));
        Assert.That(face.Mouth.Y, Is.GreaterThan(face.Nose.Y));
        Assert.That(trace.Quality!.Accepted, trace.Quality.RejectedBecause);
    }

    [Test]
    public void An_image_without_a_face_is_refused_with_a_reason()
    {
        var grey = new RawImage(200, 200, 1, Enumerable.Repeat((byte)128, 200 * 200).ToArray());

        var result = _extractor.Extract(grey);

        Assert.That(result.Succeeded, Is.False);
        Assert.That(result.RejectedBecause, Does.Contain("no face"));
    }

    [Test]
    public void Two_people_in_the_picture_are_refused()
    {
        // Side by side without padding: each face has the size a padded single one has.
        var a = _decoder.DecodeFile(Path.Combine(TestAssets.OrlFaces, "s1", "1.pgm"));
        var b = _decoder.DecodeFile(Path.Combine(TestAssets.OrlFaces, "s2", "1.pgm"));
        var row = a.Width * 3;
        var pixels = new byte[row * 2 * a.Height];
        for (var y = 0; y < a.Height; y++)
        {
            Array.Copy(a.Pixels, y * row, pixels, y * row * 2, row);
            Array.Copy(b.Pixels, y * row, pixels, (y * row * 2) + row, row);
        }

        var trace = _extractor.ExtractWithTrace(new RawImage(a.Width * 2, a.Height, 3, pixels));

        Assert.That(trace.Result.Succeeded, Is.False);
        Assert.That(trace.Result.RejectedBecause, Does.Contain("2 faces"));
    }

    [Test]
    public void A_corrupt_image_file_gives_a_clear_error()
    {
        var path = Path.Combine(Path.GetTempPath(), $"kezekshi-corrupt-{Guid.NewGuid():N}.jpg");
        File.WriteAllBytes(path, [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6, 7, 8]);
        try
        {
            var e = Assert.Throws<ImageDecodeException>(() => _decoder.DecodeFile(path));

            Assert.That(e!.Message, Does.Contain(path).And.Contain("could not be decoded"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void A_model_that_passes_its_SHA_256_but_is_not_ONNX_gives_a_clear_error()
    {
        var folder = Directory.CreateTempSubdirectory("kezekshi-broken-model-").FullName;
        try
        {
            var junk = "not an onnx model"u8.ToArray();
            File.WriteAllBytes(Path.Combine(folder, "blazeface.onnx"), junk);
            var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(junk));
            var manifest = Path.Combine(folder, "manifest.json");
            File.WriteAllText(manifest, $$"""{ "models": [ { "name": "blazeface", "kind": "face-detector", "file": "blazeface.onnx", "sha256": "{{sha}}", "licence": "test" } ] }""");

            var e = Assert.Throws<ModelIntegrityException>(() => FaceTemplateExtractor.Create(new FacePipelineOptions { ManifestPath = manifest, ModelsFolder = folder }));

            Assert.That(e!.Message, Does.Contain("cannot load it").And.Contain("blazeface"));
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    [Test]
    public void A_model_in_the_wrong_role_is_refused()
    {
        var e = Assert.Throws<ModelIntegrityException>(() => FaceTemplateExtractor.Create(Options() with { DetectorModel = "mobilefacenet" }));

        Assert.That(e!.Message, Does.Contain("does not fit its role"));
    }

    [Test]
    public void A_capture_source_delivers_frames_of_the_configured_size()
    {
        // A one-second video made from a dataset image stands in for the camera.
        var video = Path.Combine(Path.GetTempPath(), $"kezekshi-capture-{Guid.NewGuid():N}.mkv");
        using (var make = System.Diagnostics.Process.Start("ffmpeg", ["-v", "error", "-nostdin", "-loop", "1", "-i", Path.Combine(TestAssets.OrlFaces, "s1", "1.pgm"), "-t", "1", "-r", "5", "-c:v", "ffv1", video]))
            make.WaitForExit();
        var frames = new List<RawImage>();
        try
        {
            var source = new FfmpegCaptureSource(new CaptureOptions(video, Width: 184, Height: 224, FramesPerSecond: 5));
            foreach (var frame in source.ReadFramesAsync().ToBlockingEnumerable())
                frames.Add(frame);
        }
        finally
        {
            File.Delete(video);
        }

        Assert.That(frames, Is.Not.Empty);
        Assert.That(frames[0].Width, Is.EqualTo(184));
        Assert.That(frames[0].Height, Is.EqualTo(224));
        Assert.That(frames[0].Pixels, Has.Length.EqualTo(184 * 224 * 3));
    }

    [Test]
    public void An_image_decoded_by_ffmpeg_has_the_files_size_as_RGB()
    {
        var image = _decoder.DecodeFile(Path.Combine(TestAssets.OrlFaces, "s1", "1.pgm"));

        Assert.That((image.Width, image.Height, image.Channels), Is.EqualTo((92, 112, 3)));
        Assert.That(image.Pixels.Distinct().Count(), Is.GreaterThan(50), "real picture content, not a blank frame");
    }
}

/// <summary>
/// ORL crops are tight; pad them so the detector sees a face with surroundings, filled with the mean border grey
/// (the same preparation as the face-accuracy command in benchmarks/Edge.Benchmarks/FaceBenchmarks.cs).
/// </summary>
internal static class OrlImages
{
    public static RawImage Padded(RawImage image, double factor = 2)
    {
        var w = (int)Math.Round(image.Width * factor);
        var h = (int)Math.Round(image.Height * factor);
        var c = image.Channels;
        long border = 0;
        for (var x = 0; x < image.Width; x++)
            border += image.Pixels[x * c] + image.Pixels[(((image.Height - 1) * image.Width) + x) * c];
        var pixels = new byte[w * h * c];
        Array.Fill(pixels, (byte)(border / (2 * image.Width)));
        var ox = (w - image.Width) / 2;
        var oy = (h - image.Height) / 2;
        for (var y = 0; y < image.Height; y++)
            Array.Copy(image.Pixels, y * image.Width * c, pixels, (((oy + y) * w) + ox) * c, image.Width * c);
        return new RawImage(w, h, c, pixels);
    }
}
