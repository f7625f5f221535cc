using Kezekshi.Edge.Biometrics.Face;
using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Tests.Models;

namespace Kezekshi.Edge.Biometrics.Tests.Face;

[TestFixture]
[Category("Integration")]
public sealed class FacePipelineTests
{
    private FaceTemplateExtractor _extractor = null!;
    private readonly FfmpegImageDecoder _decoder = new();

    [OneTimeSetUp]
    public void Load() => _extractor = FaceTemplateExtractor.Create(new FacePipelineOptions
    {
        ManifestPath = Path.Combine(TestAssets.RepositoryRoot, "models", "manifest.json"),
        ModelsFolder = Path.Combine(TestAssets.Cache, "models"),
    });

    [OneTimeTearDown]
    public void Unload() => _extractor.Dispose();

    private RawImage Orl(int person, int image) => OrlImages.Padded(_decoder.DecodeFile(Path.Combine(TestAssets.OrlFaces, $"s{person}", $"{image}.pgm")));

    [Test]
    public void Debug_norms()
    {
        foreach (var (model, output, scale, offset) in new[] { ("mobilefacenet", (string?)null, 1 / 255f, 0f), ("mobilefacenet", null, 1 / 128f, -127.5f / 128) })
        {
            using var ex = FaceTemplateExtractor.Create(new FacePipelineOptions
            {
                ManifestPath = Path.Combine(TestAssets.RepositoryRoot, "models", "manifest.json"),
                ModelsFolder = Path.Combine(TestAssets.Cache, "models"),
                EmbedderModel = model,
                Embedder = new FaceEmbedderOptions(scale, offset, output),
            });
            var people = new List<int>();
            var t = new List<float[]>();
            for (var p = 1; p <= 12; p++)
                for (var i = 1; i <= 4; i++)
                {
                    var r = ex.Extract(Orl(p, i));
                    if (r.Succeeded) { people.Add(p); t.Add(r.Template!); }
                }
            var mean = new float[t[0].Length];
            foreach (var v in t) for (var k = 0; k < mean.Length; k++) mean[k] += v[k] / t.Count;
            var session = TestAssets.Manifest.Open(TestAssets.Runtime, model);
            float[] Probe(float value)
            {
                var input = Enumerable.Repeat(value, 112 * 112 * 3).ToArray();
                using var o = session.Run(new Kezekshi.Edge.Biometrics.Onnx.OnnxInput(session.Inputs[0].Name, input, [1, 112, 112, 3]));
                return o[0].Values.ToArray();
            }
            var centres = new Dictionary<string, float[]> { ["none"] = new float[mean.Length], ["gallery"] = mean, ["grey"] = Probe(128 * scale + offset), ["zero"] = Probe(0) };
            var noise = new Random(7);
            var noiseInput = Enumerable.Range(0, 112 * 112 * 3).Select(_ => (float)(noise.Next(256) * scale + offset)).ToArray();
            using (var o = session.Run(new Kezekshi.Edge.Biometrics.Onnx.OnnxInput(session.Inputs[0].Name, noiseInput, [1, 112, 112, 3]))) centres["noise"] = o[0].Values.ToArray();
            foreach (var (cname, centre) in centres)
            {
                var centred = cname;
                var u = t.Select(v => { var w = v.Select((x, k) => x - centre[k]).ToArray(); var n = MathF.Sqrt(w.Sum(x => x * x)); return w.Select(x => x / n).ToArray(); }).ToList();
                float Dot(float[] x, float[] y) => x.Zip(y, (a, b) => a * b).Sum();
                double g = 0, im = 0; int gn = 0, inn = 0, correct = 0;
                for (var i = 0; i < u.Count; i++)
                {
                    var best = -2f; var bp = -1;
                    for (var j = 0; j < u.Count; j++)
                    {
                        if (i == j) continue;
                        var d = Dot(u[i], u[j]);
                        if (d > best) { best = d; bp = people[j]; }
                        if (people[i] == people[j]) { g += d; gn++; } else { im += d; inn++; }
                    }
                    if (bp == people[i]) correct++;
                }
                TestContext.Out.WriteLine($"{model} {scale} {offset} centred={centred}: genuine {g / gn:0.0000} impostor {im / inn:0.0000} rank1 {correct}/{u.Count}");
            }
        }
        Assert.Pass();
    }

    [Test]
    public void Debug_detection()
    {
        var img = Orl(1, 1);
        var trace = _extractor.ExtractWithTrace(img);
        TestContext.Out.WriteLine($"{img.Width}x{img.Height} faces {trace.FacesFound} {trace.Face} q {trace.Quality} {trace.Result.RejectedBecause}");
        if (trace.Face is not null)
            foreach (var k in trace.Face.Keypoints)
                TestContext.Out.WriteLine($"  {k}");
        Assert.That(trace.FacesFound, Is.EqualTo(1));
    }
}

/// <summary>ORL crops are tight; pad them so the detector sees a face with surroundings (as the accuracy command does).</summary>
internal static class OrlImages
{
    public static RawImage Padded(RawImage image, double factor = 2)
    {
        var w = (int)Math.Round(image.Width * factor);
        var h = (int)Math.Round(image.Height * factor);
        var c = image.Channels;
        var pixels = new byte[w * h * c];
        Array.Fill(pixels, image.Pixels[0]);
        var ox = (w - image.Width) / 2;
        var oy = (h - image.Height) / 2;
        for (var y = 0; y < image.Height; y++)
            Array.Copy(image.Pixels, y * image.Width * c, pixels, (((oy + y) * w) + ox) * c, image.Width * c);
        return new RawImage(w, h, c, pixels);
    }
}
