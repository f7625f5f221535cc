using System.Diagnostics;
using System.Globalization;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Face;
using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Index;

namespace Kezekshi.Edge.Benchmarks;

/// <summary>
/// The face pipeline on the ORL face database (Olivetti Research Laboratory, 40 people × 10 images):
///   face-accuracy [--dataset DIR] [--embedder mobilefacenet|faceres] [--pad 2] [--people 21-40] [--threshold 0.9,0.95]
///                 [--crop aligned|box|upright] [--box-scale 1.4] [--input m11|01|255] [--flip on|off] [--raw|--grey-centre]
///       leave-one-out rank-1, TAR at FAR 1e-2 and 1e-3 with the thresholds that give them, for the model's
///       default preprocessing (FaceEmbedderOptions.ForModel) or the one given.
///   face-accuracy --sweep mobilefacenet|faceres|all
///       the same for each preprocessing hypothesis (input range, crop, centring, flip), on the same detections.
///   face-accuracy --calibrate 1-20 [--write-centre models/mobilefacenet.centre.json]
///       measures the embedding centre on people 1-20 and evaluates on the others, raw and centred.
///   face-latency [--dataset DIR] [--iterations 200]
///       p50/p99 of decode, detection, alignment, embedding, the whole extraction, the search of a
///       gallery (--gallery, default 50,000 templates) and the whole decision.
/// </summary>
internal static class FaceBenchmarks
{
    private static readonly CultureInfo _c = CultureInfo.InvariantCulture;

    public static int Run(string mode, string[] args)
    {
        var dataset = Option(args, "--dataset") ?? FindDataset();
        if (dataset is null || !Directory.Exists(dataset))
        {
            Console.Error.WriteLine("ORL dataset not found: pass --dataset <folder with s1..s40> (../shared/datasets/orl-faces relative to the repository).");
            return 2;
        }
        var pad = double.Parse(Option(args, "--pad") ?? "2", _c);
        var embedder = Option(args, "--embedder") ?? new FacePipelineOptions().EmbedderModel;
        if (mode == "face-accuracy")
            return Accuracy(dataset, pad, embedder, args);
        using var extractor = FaceTemplateExtractor.Create(new FacePipelineOptions { EmbedderModel = embedder, Embedder = EmbedderFrom(embedder, args) });
        return Latency(extractor, dataset, pad, int.Parse(Option(args, "--iterations") ?? "200", _c), int.Parse(Option(args, "--gallery") ?? "50000", _c));
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string? FindDataset()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared", "datasets", "orl-faces");
            if (File.Exists(Path.Combine(dir.FullName, "Kezekshi.sln")) && Directory.Exists(candidate))
                return Path.GetFullPath(candidate);
        }
        return null;
    }

    private static IEnumerable<(int Person, string Path)> Images(string dataset) =>
        Enumerable.Range(1, 40).SelectMany(p => Enumerable.Range(1, 10).Select(i => (p, Path.Combine(dataset, $"s{p}", $"{i}.pgm"))));

    private static (int From, int To) Range(string? text, (int, int) fallback)
    {
        if (text is null)
            return fallback;
        var parts = text.Split('-');
        return (int.Parse(parts[0], _c), int.Parse(parts[^1], _c));
    }

    private static float[] _extraThresholds = [];

    /// <summary>Pixel (0..255) → model input for the --input option.</summary>
    private static (float Scale, float Offset) InputRange(string text) => text switch
    {
        "m11" => (1 / 128f, -127.5f / 128),
        "01" => (1 / 255f, 0),
        "255" => (1, 0),
        _ => throw new ArgumentException($"--input {text}: use m11 ((pixel-127.5)/128), 01 (pixel/255) or 255 (pixel)."),
    };

    private static FaceCrop CropKind(string text) => text switch
    {
        "aligned" => FaceCrop.Aligned,
        "box" => FaceCrop.Box,
        "upright" => FaceCrop.UprightBox,
        _ => throw new ArgumentException($"--crop {text}: use aligned, box or upright."),
    };

    /// <summary>The embedder settings named on the command line, on top of the model's own defaults.</summary>
    private static FaceEmbedderOptions EmbedderFrom(string embedder, string[] args)
    {
        var options = FaceEmbedderOptions.ForModel(embedder);
        if (Option(args, "--input") is { } input)
        {
            var (scale, offset) = InputRange(input);
            options = options with { InputScale = scale, InputOffset = offset };
        }
        if (Option(args, "--crop") is { } crop)
            options = options with { Crop = CropKind(crop) };
        if (Option(args, "--box-scale") is { } boxScale)
            options = options with { BoxScale = float.Parse(boxScale, _c) };
        if (Option(args, "--flip") is { } flip)
            options = options with { FlipAverage = flip == "on" };
        if (args.Contains("--raw"))
            options = options with { CentreOnGrey = false };
        else if (args.Contains("--grey-centre"))
            options = options with { CentreOnGrey = true };
        return options;
    }

    /// <summary>
    /// The hypotheses compared by --sweep: input range, crop and output centring for each embedder, as
    /// @vladmandic/human feeds the models and as their training sets were cut.
    /// </summary>
    private static (string Label, string Model, FaceEmbedderOptions Options)[] Sweep(string which)
    {
        var m = FaceEmbedderOptions.ForModel("mobilefacenet") with { Crop = FaceCrop.Aligned, InputScale = 1 / 128f, InputOffset = -127.5f / 128, CentreOnGrey = true, FlipAverage = false };
        var f = FaceEmbedderOptions.ForModel("faceres") with { Crop = FaceCrop.Aligned, InputScale = 1 / 255f, InputOffset = 0, CentreOnGrey = true, FlipAverage = false };
        var list = new List<(string, string, FaceEmbedderOptions)>();
        if (which is "all" or "mobilefacenet")
        {
            list.AddRange(
            [
                ("mobilefacenet aligned, -1..1, grey-centred (previous default)", "mobilefacenet", m),
                ("mobilefacenet aligned, -1..1, raw", "mobilefacenet", m with { CentreOnGrey = false }),
                ("mobilefacenet aligned, 0..1, raw", "mobilefacenet", m with { InputScale = 1 / 255f, InputOffset = 0, CentreOnGrey = false }),
                ("mobilefacenet aligned, 0..1, grey-centred", "mobilefacenet", m with { InputScale = 1 / 255f, InputOffset = 0 }),
                ("mobilefacenet box x1.4, 0..1, raw (as human feeds it)", "mobilefacenet", m with { Crop = FaceCrop.Box, InputScale = 1 / 255f, InputOffset = 0, CentreOnGrey = false }),
                ("mobilefacenet box x1.4, -1..1, grey-centred", "mobilefacenet", m with { Crop = FaceCrop.Box }),
                ("mobilefacenet aligned, -1..1, grey-centred, flip", "mobilefacenet", m with { FlipAverage = true }),
            ]);
        }
        if (which is "all" or "faceres")
        {
            list.AddRange(
            [
                ("faceres aligned, 0..1, grey-centred (previous)", "faceres", f),
                ("faceres box x1.4, 0..255, raw (as human feeds it)", "faceres", f with { Crop = FaceCrop.Box, InputScale = 1, CentreOnGrey = false }),
                ("faceres box x1.4, 0..255, grey-centred", "faceres", f with { Crop = FaceCrop.Box, InputScale = 1 }),
                ("faceres upright box x1.4, 0..255, grey-centred", "faceres", f with { Crop = FaceCrop.UprightBox, InputScale = 1 }),
                ("faceres aligned, 0..255, grey-centred", "faceres", f with { InputScale = 1 }),
                ("faceres box x1.4, -1..1, grey-centred", "faceres", f with { Crop = FaceCrop.Box, InputScale = 1 / 127.5f, InputOffset = -1 }),
                ("faceres box x1.4, 0..255, grey-centred, flip", "faceres", f with { Crop = FaceCrop.Box, InputScale = 1, FlipAverage = true }),
            ]);
        }
        return [.. list];
    }

    private static int Accuracy(string dataset, double pad, string embedder, string[] args)
    {
        _extraThresholds = Option(args, "--threshold") is { } t ? [.. t.Split(',').Select(v => float.Parse(v, _c))] : [];
        var calibrate = Option(args, "--calibrate");
        var sweep = Option(args, "--sweep");
        var variants = sweep is not null
            ? Sweep(sweep)
            : [(embedder + (args.Any(a => a is "--input" or "--crop" or "--flip" or "--box-scale" or "--raw" or "--grey-centre") ? " (options as given)" : " (the model's defaults)"), embedder, EmbedderFrom(embedder, args))];
        if (calibrate is not null)
            variants = [.. variants.Select(v => (v.Item1, v.Item2, v.Item3 with { CentreOnGrey = false }))];
        // Decode and detect once; every variant embeds the same detections, so the same images pass the gate.
        var images = new List<(int Person, string Path, RawImage Image, IReadOnlyList<FaceDetection> Faces)>();
        using (var detector = FaceTemplateExtractor.Create(new FacePipelineOptions { CentreFile = "none" }))
        {
            foreach (var (person, path) in Images(dataset))
            {
                var image = OrlPreparation.Pad(OrlPreparation.Read(path), pad);
                images.Add((person, path, image, detector.Detect(image)));
            }
        }
        Console.WriteLine($"Face accuracy on ORL (Olivetti Research Laboratory): detector blazeface, images padded ×{pad.ToString(_c)}, cosine of L2-normalised templates");
        foreach (var (label, model, embedderOptions) in variants)
        {
            var options = new FacePipelineOptions { EmbedderModel = model, Embedder = embedderOptions, CentreFile = calibrate is not null || !embedderOptions.CentreOnGrey ? "none" : null };
            using var extractor = FaceTemplateExtractor.Create(options);
            var people = new List<int>();
            var templates = new List<float[]>();
            var rejected = new List<string>();
            var started = Stopwatch.GetTimestamp();
            foreach (var (person, path, image, faces) in images)
            {
                var result = extractor.ExtractFromFaces(image, faces).Result;
                if (!result.Succeeded)
                {
                    rejected.Add($"s{person}/{Path.GetFileName(path)}: {result.RejectedBecause}");
                    continue;
                }
                people.Add(person);
                templates.Add(result.Template!);
            }
            Console.WriteLine();
            Console.WriteLine($"== {label}");
            Console.WriteLine($"  embedder {extractor.ModelId}; {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s for {images.Count} images");
            Console.WriteLine($"  templates {templates.Count} of {images.Count} ({images.Count - templates.Count} refused by detection or the quality gate)");
            foreach (var r in rejected.Take(sweep is null ? 20 : 3))
                Console.WriteLine($"    refused {r}");
            if (calibrate is null)
            {
                var (from, to) = Range(Option(args, "--people"), (1, 40));
                var keep = Enumerable.Range(0, people.Count).Where(i => people[i] >= from && people[i] <= to).ToList();
                Evaluate($"people s{from}-s{to}", [.. keep.Select(i => people[i])], [.. keep.Select(i => templates[i])]);
                continue;
            }
            Calibrate(calibrate, model, options, people, templates, Option(args, "--write-centre"));
        }
        return 0;
    }

    private static void Calibrate(string calibrate, string embedder, FacePipelineOptions options, List<int> people, List<float[]> templates, string? writeCentre)
    {
        var (cFrom, cTo) = Range(calibrate, (1, 20));
        var centre = new float[templates[0].Length];
        var calibration = Enumerable.Range(0, people.Count).Where(i => people[i] >= cFrom && people[i] <= cTo).ToList();
        foreach (var i in calibration)
        {
            for (var k = 0; k < centre.Length; k++)
                centre[k] += templates[i][k] / calibration.Count;
        }
        var evaluation = Enumerable.Range(0, people.Count).Where(i => people[i] < cFrom || people[i] > cTo).ToList();
        Evaluate("raw embeddings, evaluation people", [.. evaluation.Select(i => people[i])], [.. evaluation.Select(i => templates[i])]);
        Evaluate($"centred on the mean of s{cFrom}-s{cTo}, evaluation people", [.. evaluation.Select(i => people[i])], [.. evaluation.Select(i => Centred(templates[i], centre))]);
        if (writeCentre is { } file)
        {
            var manifest = Kezekshi.Edge.Biometrics.Models.ModelManifest.Load(options.ManifestPath, options.ModelsFolder);
            var entry = manifest[embedder];
            var json = new System.Text.Json.Nodes.JsonObject
            {
                ["model"] = entry.Name,
                ["sha256"] = entry.Sha256,
                ["measuredOn"] = $"mean raw embedding ({options.Embedder?.Crop}, input pixel*{options.Embedder?.InputScale}+{options.Embedder?.InputOffset}) of {calibration.Count} ORL images of people s{cFrom}-s{cTo} (Olivetti Research Laboratory face database)",
                ["values"] = new System.Text.Json.Nodes.JsonArray([.. centre.Select(v => (System.Text.Json.Nodes.JsonNode?)System.Text.Json.Nodes.JsonValue.Create(Math.Round((double)v, 7)))]),
            };
            File.WriteAllText(file, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
            Console.WriteLine($"  wrote {file}");
        }
    }

    private static float[] Centred(float[] template, float[] centre)
    {
        var v = template.Select((x, k) => x - centre[k]).ToArray();
        var n = MathF.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / n)];
    }

    private static void Evaluate(string label, List<int> people, List<float[]> templates)
    {
        var n = templates.Count;
        var genuine = new List<float>();
        var impostor = new List<float>();
        var correct = 0;
        for (var i = 0; i < n; i++)
        {
            var best = float.MinValue;
            var bestPerson = -1;
            for (var j = 0; j < n; j++)
            {
                if (i == j)
                    continue;
                var s = Dot(templates[i], templates[j]);
                if (s > best)
                {
                    best = s;
                    bestPerson = people[j];
                }
                if (j > i)
                    (people[i] == people[j] ? genuine : impostor).Add(s);
            }
            if (bestPerson == people[i])
                correct++;
        }
        impostor.Sort();
        genuine.Sort();
        Console.WriteLine($"  [{label}] {n} templates, {genuine.Count} genuine and {impostor.Count} impostor pairs");
        Console.WriteLine($"    rank-1 (leave-one-out)  {100.0 * correct / n:0.00}%");
        foreach (var far in new[] { 1e-2, 1e-3 })
        {
            var threshold = ThresholdAt(impostor, far);
            var tar = genuine.Count(g => g > threshold) / (double)genuine.Count;
            var actualFar = impostor.Count(s => s > threshold) / (double)impostor.Count;
            Console.WriteLine($"    FAR {far:0e0}: threshold {threshold:0.000}  TAR {100 * tar:0.00}%  (measured FAR {100 * actualFar:0.000}%)");
        }
        foreach (var threshold in _extraThresholds)
        {
            var tar = genuine.Count(g => g > threshold) / (double)genuine.Count;
            var far = impostor.Count(s => s > threshold) / (double)impostor.Count;
            Console.WriteLine($"    threshold {threshold:0.000}: TAR {100 * tar:0.00}%  FAR {100 * far:0.000}%");
        }
        Console.WriteLine($"    genuine score median {genuine[genuine.Count / 2]:0.000} (min {genuine[0]:0.000}); impostor median {impostor[impostor.Count / 2]:0.000} (max {impostor[^1]:0.000})");
        OpenSet(people, templates, ThresholdAt(impostor, 1e-2), ThresholdAt(impostor, 1e-3));
    }

    /// <summary>
    /// The gate's open-set rule (MatchPolicy: accept when the best pupil scores ≥ threshold AND beats the best
    /// different pupil by the margin) on leave-one-out probes. Enrolled: every other image is in the gallery;
    /// a correct accept names the probe's own person. Not enrolled: all of the probe's person's images are taken
    /// out of the gallery, so any accept is a false accept of a stranger. Scores per person are the best of
    /// their templates, as the index ranks distinct pupils.
    /// </summary>
    private static void OpenSet(List<int> people, List<float[]> templates, float thresholdFar2, float thresholdFar3)
    {
        var persons = people.Distinct().Order().ToArray();
        var slot = persons.Select((p, k) => (p, k)).ToDictionary(x => x.p, x => x.k);
        var n = templates.Count;
        // best[i, k]: probe i's best score against person k's templates other than itself.
        var best = new float[n, persons.Length];
        for (var i = 0; i < n; i++)
        {
            for (var k = 0; k < persons.Length; k++)
                best[i, k] = float.MinValue;
            for (var j = 0; j < n; j++)
            {
                if (j != i)
                    best[i, slot[people[j]]] = Math.Max(best[i, slot[people[j]]], Dot(templates[i], templates[j]));
            }
        }
        var thresholds = new SortedSet<float>(_extraThresholds.Concat([MathF.Round(thresholdFar2, 2), MathF.Round(thresholdFar3, 2)]));
        Console.WriteLine("    open-set rule (threshold AND margin over the best other pupil), leave-one-out:");
        Console.WriteLine("      threshold  margin   enrolled: correct  wrong pupil  unknown    stranger accepted");
        foreach (var threshold in thresholds)
        {
            foreach (var margin in new[] { 0f, 0.05f, 0.08f, 0.10f })
            {
                int correct = 0, wrong = 0, strangers = 0;
                for (var i = 0; i < n; i++)
                {
                    var own = slot[people[i]];
                    var (top, first, second) = TopTwo(best, i, -1);
                    if (first >= threshold && first - second >= margin)
                    {
                        if (top == own)
                            correct++;
                        else
                            wrong++;
                    }
                    var (_, sFirst, sSecond) = TopTwo(best, i, own);
                    if (sFirst >= threshold && sFirst - sSecond >= margin)
                        strangers++;
                }
                Console.WriteLine($"      {threshold,9:0.000} {margin,7:0.00}   {100.0 * correct / n,16:0.00}% {100.0 * wrong / n,11:0.00}% {100.0 * (n - correct - wrong) / n,8:0.00}%   {100.0 * strangers / n,8:0.00}%");
            }
        }
    }

    /// <summary>The best and second-best person for probe <paramref name="i"/>, leaving out person <paramref name="skip"/>.</summary>
    private static (int Top, float First, float Second) TopTwo(float[,] best, int i, int skip)
    {
        int top = -1;
        float first = float.MinValue, second = float.MinValue;
        for (var k = 0; k < best.GetLength(1); k++)
        {
            if (k == skip)
                continue;
            var s = best[i, k];
            if (s > first)
            {
                second = first;
                first = s;
                top = k;
            }
            else if (s > second)
            {
                second = s;
            }
        }
        return (top, first, second);
    }

    /// <summary>The score above which a fraction <paramref name="far"/> of impostor pairs lie.</summary>
    private static float ThresholdAt(List<float> sortedImpostor, double far)
    {
        var index = (int)Math.Ceiling(sortedImpostor.Count * (1 - far)) - 1;
        return sortedImpostor[Math.Clamp(index, 0, sortedImpostor.Count - 1)];
    }

    private static float Dot(float[] a, float[] b)
    {
        var s = 0f;
        for (var i = 0; i < a.Length; i++)
            s += a[i] * b[i];
        return s;
    }

    /// <summary>
    /// The gate's face decision after decoding, stage by stage: detection, alignment + quality,
    /// embedding, then the search of a gallery of <paramref name="gallery"/> templates (the 40 ORL
    /// people's first images, embedded by the same pipeline, among random unit-vector distractors)
    /// with the open-set decision, for the access purpose.
    /// </summary>
    private static int Latency(FaceTemplateExtractor extractor, string dataset, double pad, int iterations, int gallery)
    {
        var decoder = new FfmpegImageDecoder();
        var paths = Images(dataset).Select(i => i.Path).ToArray();
        var (index, space) = Gallery(extractor, dataset, pad, gallery);
        var search = new List<double>();
        var decision = new List<double>();
        var decode = new List<double>();
        var detection = new List<double>();
        var alignment = new List<double>();
        var embedding = new List<double>();
        var whole = new List<double>();
        for (var i = -10; i < iterations; i++) // the first ten warm up ORT and the JIT
        {
            var path = paths[(i + paths.Length) % paths.Length];
            var start = Stopwatch.GetTimestamp();
            var image = decoder.DecodeFile(path);
            var decoded = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            image = OrlPreparation.Pad(image, pad);
            var t0 = Stopwatch.GetTimestamp();
            var trace = extractor.ExtractWithTrace(image);
            var total = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (i < 0)
                continue;
            decode.Add(decoded);
            detection.Add(trace.Timings.Detection.TotalMilliseconds);
            alignment.Add(trace.Timings.Alignment.TotalMilliseconds + trace.Timings.Quality.TotalMilliseconds);
            if (trace.Result.Succeeded)
                embedding.Add(trace.Timings.Embedding.TotalMilliseconds);
            whole.Add(total);
            if (trace.Result.Template is { } template)
            {
                var s0 = Stopwatch.GetTimestamp();
                index.Identify(template, BiometricPurpose.Access, space);
                double searched = Stopwatch.GetElapsedTime(s0).TotalMilliseconds;
                search.Add(searched);
                decision.Add(total + searched);
            }
        }
        Console.WriteLine($"Face extraction latency, {iterations} ORL images, {Environment.ProcessorCount} cores visible, ORT intra-op threads 2, embedder {extractor.ModelId}");
        Console.WriteLine("  stage                          p50 ms    p99 ms");
        Row("decode (ffmpeg process, file)", decode);
        Row("detection (BlazeFace 256)", detection);
        Row("alignment + quality gate", alignment);
        Row($"embedding ({extractor.ModelId.Split('#')[0]})", embedding);
        Row("whole extraction (no decode)", whole);
        Row($"search ({index.Count:N0} templates)", search);
        Row("whole decision (no decode)", decision);
        Console.WriteLine("  (whole decision = extraction + search + open-set decision, for the frames where a face passed the quality gate;");
        Console.WriteLine("   decode is left out: at the gate ffmpeg decodes the camera stream continuously in its own process)");
        return 0;
    }

    /// <summary>The gallery the latency run searches: the 40 ORL people's first images, plus random unit distractors up to <paramref name="size"/>.</summary>
    private static (EmbeddingIndex Index, TemplateSpace Space) Gallery(FaceTemplateExtractor extractor, string dataset, double pad, int size)
    {
        var space = new TemplateSpace(BiometricModality.Face, extractor.ModelId);
        var templates = new List<IndexedTemplate>();
        for (int p = 1; p <= 40; p++)
        {
            var image = OrlPreparation.Pad(OrlPreparation.Read(Path.Combine(dataset, $"s{p}", "1.pgm")), pad);
            if (extractor.Extract(image).Template is { } template)
                templates.Add(new IndexedTemplate(p, p, BiometricModality.Face, extractor.ModelId, template));
        }
        var random = new Random(2026);
        for (int i = templates.Count; i < size; i++)
        {
            var vector = new float[extractor.Dimensions];
            for (int j = 0; j < vector.Length; j++)
                vector[j] = RealisticFaceVectors.Gaussian(random);
            float norm = System.Numerics.Tensors.TensorPrimitives.Norm(vector);
            System.Numerics.Tensors.TensorPrimitives.Divide(vector, norm, vector);
            templates.Add(new IndexedTemplate(1000 + i, 1000 + i, BiometricModality.Face, extractor.ModelId, vector));
        }
        var index = new EmbeddingIndex(new MatchPolicy());
        index.Load(templates, templates.ToDictionary(t => t.PupilId, _ => BiometricPurpose.Access), []);
        // Searches for 2 s first, so the search runs the optimised code a gate service has after its first minute.
        var warmUp = Stopwatch.StartNew();
        for (int i = 0; warmUp.Elapsed < TimeSpan.FromSeconds(2); i++)
            index.Identify(templates[i % templates.Count].Vector, BiometricPurpose.Access, space);
        return (index, space);
    }

    private static void Row(string name, List<double> values)
    {
        if (values.Count == 0)
        {
            Console.WriteLine($"  {name,-30} {"-",8} {"-",9}");
            return;
        }
        values.Sort();
        double P(double q) => values[Math.Clamp((int)Math.Ceiling(q * values.Count) - 1, 0, values.Count - 1)];
        Console.WriteLine($"  {name,-30} {P(0.50),8:0.00} {P(0.99),9:0.00}");
    }
}

/// <summary>
/// ORL images are tight 92×112 face crops; BlazeFace (the back-camera model) expects a face with some
/// surroundings, so the image is placed in the middle of a larger canvas filled with its own mean border grey.
/// </summary>
internal static class OrlPreparation
{
    private static readonly FfmpegImageDecoder _decoder = new();

    /// <summary>
    /// ORL's binary PGM (P5, maxval 255) read directly as grey pixels — the same pixels ffmpeg gives, without a
    /// process per file; anything else goes through ffmpeg.
    /// </summary>
    public static RawImage Read(string path)
    {
        var data = File.ReadAllBytes(path);
        var position = 0;
        string Token()
        {
            while (position < data.Length && (char.IsWhiteSpace((char)data[position]) || data[position] == '#'))
            {
                if (data[position] == '#')
                {
                    while (position < data.Length && data[position] != '\n')
                        position++;
                }
                else
                {
                    position++;
                }
            }
            var start = position;
            while (position < data.Length && !char.IsWhiteSpace((char)data[position]))
                position++;
            return System.Text.Encoding.ASCII.GetString(data, start, position - start);
        }
        if (Token() != "P5" || !int.TryParse(Token(), out var width) || !int.TryParse(Token(), out var height) || Token() != "255")
            return _decoder.DecodeFile(path);
        position++;
        if (data.Length - position < width * height)
            return _decoder.DecodeFile(path);
        return new RawImage(width, height, 1, data.AsSpan(position, width * height).ToArray());
    }

    public static RawImage Pad(RawImage image, double factor)
    {
        if (factor <= 1)
            return image;
        var w = (int)Math.Round(image.Width * factor);
        var h = (int)Math.Round(image.Height * factor);
        var c = image.Channels;
        long border = 0;
        var count = 0;
        for (var x = 0; x < image.Width; x++)
        {
            border += image.Pixels[x * c] + image.Pixels[(((image.Height - 1) * image.Width) + x) * c];
            count += 2;
        }
        var fill = (byte)(border / count);
        var pixels = new byte[w * h * c];
        Array.Fill(pixels, fill);
        var ox = (w - image.Width) / 2;
        var oy = (h - image.Height) / 2;
        for (var y = 0; y < image.Height; y++)
            Array.Copy(image.Pixels, y * image.Width * c, pixels, (((oy + y) * w) + ox) * c, image.Width * c);
        return new RawImage(w, h, c, pixels);
    }
}
