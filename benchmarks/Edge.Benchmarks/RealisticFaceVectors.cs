using System.Globalization;
using System.Numerics.Tensors;
using Kezekshi.Edge.Biometrics.Face;

namespace Kezekshi.Edge.Benchmarks;

/// <summary>
/// Benchmark vectors that look like real faceres embeddings, for the index benchmark: isotropic
/// random vectors make a binary first pass look perfect, real face embeddings are not isotropic.
/// </summary>
/// <remarks>
/// <para>Source: the 1024-D faceres templates of the ORL images (Olivetti Research Laboratory, 40
/// people × 10 images) made by the production pipeline (FaceTemplateExtractor with default options),
/// cached in <c>.cache/index-bench/orl-faceres.bin</c> after the first run.</para>
/// <para>The generator: identity = mean template + a random mix of the 40 person-mean deviations
/// (the between-person covariance, low rank) + an isotropic noise floor; a capture of that identity
/// = identity + a random mix of the within-person deviations (the ORL residuals) + a smaller noise
/// floor; then L2-normalised. The two noise floors are fitted so that synthetic impostor cosines
/// (mean) and genuine cosines (mean) match those of the real ORL templates; the fit and the
/// resulting distributions are printed, so the reader can judge how close they are.</para>
/// </remarks>
internal sealed class RealisticFaceVectors
{
    private const int MixSize = 16;

    private readonly float[] _mean;
    private readonly float[][] _between;
    private readonly float[][] _within;
    private readonly int _seed;

    private RealisticFaceVectors(float[] mean, float[][] between, float[][] within, float identityNoise, float captureNoise, int seed)
    {
        _mean = mean;
        _between = between;
        _within = within;
        IdentityNoise = identityNoise;
        CaptureNoise = captureNoise;
        _seed = seed;
    }

    public int Dimensions => _mean.Length;

    /// <summary>Per-component standard deviation of the identity noise floor.</summary>
    public float IdentityNoise { get; }

    /// <summary>Per-component standard deviation of the capture noise floor.</summary>
    public float CaptureNoise { get; }

    /// <summary>The real ORL templates: person (1-40) and vector.</summary>
    public static List<(int Person, float[] Vector)> OrlTemplates(string cache)
    {
        string path = Path.Combine(cache, "orl-faceres.bin");
        if (File.Exists(path))
            return Read(path);
        string dataset = Path.GetFullPath(Path.Combine(cache, "..", "..", "..", "shared", "datasets", "orl-faces"));
        if (!Directory.Exists(dataset))
            dataset = "/work/shared/datasets/orl-faces";
        if (!Directory.Exists(dataset))
            throw new DirectoryNotFoundException($"The ORL dataset is needed once to make realistic index vectors: put it at {dataset} (s1..s40), or run with --data isotropic.");
        Console.Error.WriteLine($"[orl] embedding the 400 ORL images with the default face pipeline (once; cached in {path})...");
        var result = new List<(int, float[])>();
        using var extractor = FaceTemplateExtractor.Create(new FacePipelineOptions());
        for (int p = 1; p <= 40; p++)
            for (int i = 1; i <= 10; i++)
            {
                var image = OrlPreparation.Pad(OrlPreparation.Read(Path.Combine(dataset, $"s{p}", $"{i}.pgm")), 2);
                var extraction = extractor.Extract(image);
                if (extraction.Template is { } template)
                    result.Add((p, template));
            }
        using (var stream = File.Create(path))
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(result.Count);
            writer.Write(result[0].Item2.Length);
            foreach (var (person, vector) in result)
            {
                writer.Write(person);
                foreach (float v in vector)
                    writer.Write(v);
            }
        }
        return result;
    }

    private static List<(int, float[])> Read(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        int count = reader.ReadInt32(), dims = reader.ReadInt32();
        var result = new List<(int, float[])>(count);
        for (int i = 0; i < count; i++)
        {
            int person = reader.ReadInt32();
            var v = new float[dims];
            for (int j = 0; j < dims; j++)
                v[j] = reader.ReadSingle();
            result.Add((person, v));
        }
        return result;
    }

    /// <summary>Fits the generator to the ORL templates and prints the real and synthetic score distributions.</summary>
    public static RealisticFaceVectors Fit(List<(int Person, float[] Vector)> orl, int seed)
    {
        int d = orl[0].Vector.Length;
        var mean = new float[d];
        foreach (var (_, v) in orl)
            TensorPrimitives.Add(mean, v, mean);
        TensorPrimitives.Divide(mean, orl.Count, mean);
        var personMeans = orl.GroupBy(t => t.Person).ToDictionary(g => g.Key, g =>
        {
            var m = new float[d];
            foreach (var (_, v) in g)
                TensorPrimitives.Add(m, v, m);
            TensorPrimitives.Divide(m, g.Count(), m);
            return m;
        });
        var between = personMeans.Values.Select(m => Subtract(m, mean)).ToArray();
        var within = orl.Select(t => Subtract(t.Vector, personMeans[t.Person])).ToArray();

        var (realGenuine, realImpostor) = Scores(orl);
        // Fit the two noise floors by bisection: the identity floor sets how alike strangers look
        // (impostor mean), the capture floor how alike two captures of one person look (genuine mean).
        float identityNoise = 0f, captureNoise = 0f;
        for (int round = 0; round < 2; round++)
        {
            identityNoise = Bisect(s => Scores(new RealisticFaceVectors(mean, between, within, s, captureNoise, seed).Sample(40, 10)).Impostor.Average(), realImpostor.Average());
            captureNoise = Bisect(s => Scores(new RealisticFaceVectors(mean, between, within, identityNoise, s, seed).Sample(40, 10)).Genuine.Average(), realGenuine.Average());
        }
        var fitted = new RealisticFaceVectors(mean, between, within, identityNoise, captureNoise, seed);
        var (synthGenuine, synthImpostor) = Scores(fitted.Sample(40, 10));
        Console.Error.WriteLine($"[realistic] fitted on {orl.Count} ORL faceres templates: identity noise floor {identityNoise:F4}/component, capture noise floor {captureNoise:F4}/component");
        Console.Error.WriteLine($"[realistic] ORL      genuine {Describe(realGenuine)}; impostor {Describe(realImpostor)}");
        Console.Error.WriteLine($"[realistic] synthetic genuine {Describe(synthGenuine)}; impostor {Describe(synthImpostor)} (40 identities x 10)");
        return fitted;
    }

    /// <summary>A capture of identity <paramref name="identity"/> (number <paramref name="capture"/>): deterministic in both.</summary>
    public void Capture(int identity, int capture, Span<float> destination)
    {
        // Seeds combined arithmetically: HashCode.Combine is randomised per process, and the data must not be.
        var random = new Random(unchecked((_seed * 1_000_003) + identity));
        Mix(_between, random, destination, IdentityNoise, start: true);
        var r2 = new Random(unchecked((((_seed * 1_000_003) + identity) * 7_919) + capture + 1));
        Mix(_within, r2, destination, CaptureNoise, start: false);
        TensorPrimitives.Divide(destination, TensorPrimitives.Norm(destination), destination);
    }

    private void Mix(float[][] deviations, Random random, Span<float> destination, float noise, bool start)
    {
        if (start)
            _mean.CopyTo(destination);
        // A random Gaussian mix of MixSize deviations chosen at random has, averaged over the choice,
        // exactly the sample covariance of all of them (and costs MixSize rows, not all).
        float scale = 1f / MathF.Sqrt(MixSize);
        for (int k = 0; k < MixSize; k++)
            TensorPrimitives.MultiplyAdd(deviations[random.Next(deviations.Length)], Gaussian(random) * scale, destination, destination);
        if (noise > 0)
            for (int j = 0; j < destination.Length; j++)
                destination[j] += noise * Gaussian(random);
    }

    private List<(int, float[])> Sample(int identities, int captures)
    {
        var list = new List<(int, float[])>();
        for (int p = 0; p < identities; p++)
            for (int c = 0; c < captures; c++)
            {
                var v = new float[Dimensions];
                Capture(1_000_000 + p, c, v);
                list.Add((p, v));
            }
        return list;
    }

    private static float Bisect(Func<float, double> measure, double target)
    {
        // measure decreases as the noise grows (more noise, lower cosines).
        float lo = 0f, hi = 0.2f;
        for (int i = 0; i < 14; i++)
        {
            float mid = (lo + hi) / 2;
            if (measure(mid) > target)
                lo = mid;
            else
                hi = mid;
        }
        return (lo + hi) / 2;
    }

    private static (List<float> Genuine, List<float> Impostor) Scores(List<(int Person, float[] Vector)> set)
    {
        var genuine = new List<float>();
        var impostor = new List<float>();
        for (int i = 0; i < set.Count; i++)
            for (int j = i + 1; j < set.Count; j++)
            {
                float s = TensorPrimitives.Dot(set[i].Vector, set[j].Vector); // both unit vectors
                (set[i].Person == set[j].Person ? genuine : impostor).Add(s);
            }
        return (genuine, impostor);
    }

    private static string Describe(List<float> scores)
    {
        var sorted = scores.Order().ToArray();
        string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
        return $"n={sorted.Length} mean {F(sorted.Average())} p1 {F(sorted[(int)(0.01 * (sorted.Length - 1))])} p50 {F(sorted[sorted.Length / 2])} p99.9 {F(sorted[(int)(0.999 * (sorted.Length - 1))])} max {F(sorted[^1])}";
    }

    private static float[] Subtract(float[] a, float[] b)
    {
        var r = new float[a.Length];
        TensorPrimitives.Subtract(a, b, r);
        return r;
    }

    /// <summary>A standard normal sample (Box–Muller), shared by the benchmarks that make synthetic templates.</summary>
    internal static float Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
