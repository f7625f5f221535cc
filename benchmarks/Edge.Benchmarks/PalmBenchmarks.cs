using System.Diagnostics;
using System.Globalization;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Models;
using Kezekshi.Edge.Biometrics.Onnx;
using Kezekshi.Edge.Biometrics.Palm;

namespace Kezekshi.Edge.Benchmarks;

/// <summary>
/// palm-latency [--iterations 200] [--width 640 --height 480]
///   p50/p99 of each palm stage: palm detection (handdetect 256), hand landmarks (handlandmark-lite 224),
///   alignment + quality gate, competitive-code descriptor, and their sum. There is no hand photo here, so the
///   stages run on a synthetic camera frame (model run time does not depend on the content) and the alignment and
///   descriptor on fixed landmarks placed in that frame; the sum is what one palm extraction costs when a hand is seen.
/// </summary>
internal static class PalmBenchmarks
{
    private static readonly CultureInfo _c = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        var iterations = int.Parse(Option(args, "--iterations") ?? "200", _c);
        var width = int.Parse(Option(args, "--width") ?? "640", _c);
        var height = int.Parse(Option(args, "--height") ?? "480", _c);
        var options = new PalmPipelineOptions();
        var runtime = OnnxRuntime.Load(options.Runtime);
        var manifest = ModelManifest.Load(options.ManifestPath, options.ModelsFolder);
        var sessionOptions = new OnnxSessionOptions(options.IntraOpThreads);
        using var detector = new PalmDetector(manifest.Open(runtime, options.DetectorModel, sessionOptions));
        using var landmarker = new HandLandmarker(manifest.Open(runtime, options.LandmarkModel, sessionOptions));
        using var extractor = PalmTemplateExtractor.Create(options);

        var frame = Frame(width, height);
        var palm = new PalmDetection(width / 2f, height / 2f, 120, 120, 0.9f,
            [new(width / 2f, (height / 2f) + 50), new(width / 2f + 40, (height / 2f) - 40), new(width / 2f, (height / 2f) - 50), new(width / 2f - 20, (height / 2f) - 45), new(width / 2f - 40, (height / 2f) - 40), new(width / 2f + 50, height / 2f), new(width / 2f + 60, (height / 2f) - 20)]);
        var hand = Landmarks(width / 2f, height / 2f, 150);

        var detection = new List<double>();
        var landmarks = new List<double>();
        var alignment = new List<double>();
        var descriptor = new List<double>();
        var whole = new List<double>();
        for (var i = -10; i < iterations; i++) // the first ten warm up ORT and the JIT
        {
            var t0 = Stopwatch.GetTimestamp();
            detector.Detect(frame);
            var t1 = Stopwatch.GetTimestamp();
            landmarker.Locate(frame, palm);
            var t2 = Stopwatch.GetTimestamp();
            var trace = extractor.ExtractFromLandmarks(frame, hand);
            var t3 = Stopwatch.GetTimestamp();
            if (i < 0)
                continue;
            detection.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
            landmarks.Add(Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds);
            alignment.Add(trace.Timings.Alignment.TotalMilliseconds);
            if (trace.Timings.Descriptor > TimeSpan.Zero)
                descriptor.Add(trace.Timings.Descriptor.TotalMilliseconds);
            whole.Add(Stopwatch.GetElapsedTime(t0, t3).TotalMilliseconds);
        }
        Console.WriteLine($"Palm extraction latency, {iterations} runs on a synthetic {width}x{height} frame, {Environment.ProcessorCount} cores visible, ORT intra-op threads {options.IntraOpThreads}");
        Console.WriteLine("  stage                             p50 ms    p99 ms");
        Row("palm detection (handdetect 256)", detection);
        Row("hand landmarks (lite 224)", landmarks);
        Row("alignment + quality gate", alignment);
        Row("descriptor (competitive code)", descriptor);
        Row("whole palm extraction", whole);
        return 0;
    }

    /// <summary>A camera-like frame: shaded background with a skin-coloured, line-textured square in the middle.</summary>
    private static RawImage Frame(int width, int height)
    {
        var random = new Random(1);
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var inside = Math.Abs(x - (width / 2)) < 110 && Math.Abs(y - (height / 2)) < 110;
                var lines = inside && ((x * 7) + (y * 3)) % 23 < 3 ? 0.7f : 1f;
                var n = random.Next(-6, 7);
                var o = ((y * width) + x) * 3;
                pixels[o] = (byte)Math.Clamp(((inside ? 220 : 50) * lines) + n, 0, 255);
                pixels[o + 1] = (byte)Math.Clamp(((inside ? 170 : 55) * lines) + n, 0, 255);
                pixels[o + 2] = (byte)Math.Clamp(((inside ? 140 : 60) * lines) + n, 0, 255);
            }
        }
        return new RawImage(width, height, 3, pixels);
    }

    /// <summary>An upright right palm (index on the right) centred at (cx, cy), palm length in pixels.</summary>
    private static HandLandmarks Landmarks(float cx, float cy, float length)
    {
        var points = new PalmPoint[HandLandmarks.Count];
        for (var i = 0; i < points.Length; i++)
            points[i] = new PalmPoint(cx, cy - length);
        points[HandLandmarks.Wrist] = new PalmPoint(cx, cy + (length / 2));
        points[HandLandmarks.MiddleMcp] = new PalmPoint(cx, cy - (length / 2));
        points[HandLandmarks.IndexMcp] = new PalmPoint(cx + (0.4f * length), cy - (0.43f * length));
        points[HandLandmarks.PinkyMcp] = new PalmPoint(cx - (0.38f * length), cy - (0.3f * length));
        return new HandLandmarks(points, 0.99f, 0.1f);
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static void Row(string name, List<double> values)
    {
        if (values.Count == 0)
        {
            Console.WriteLine($"  {name,-33} {"-",8} {"-",9}");
            return;
        }
        values.Sort();
        double P(double q) => values[Math.Clamp((int)Math.Ceiling(q * values.Count) - 1, 0, values.Count - 1)];
        Console.WriteLine($"  {name,-33} {P(0.50),8:0.00} {P(0.99),9:0.00}");
    }
}
