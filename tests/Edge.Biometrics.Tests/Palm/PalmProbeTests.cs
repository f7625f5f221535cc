using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Models;
using Kezekshi.Edge.Biometrics.Onnx;
using Kezekshi.Edge.Biometrics.Palm;
using Kezekshi.Edge.Biometrics.Tests.Models;

namespace Kezekshi.Edge.Biometrics.Tests.Palm;

[TestFixture]
[Category("Probe")]
public sealed class PalmProbeTests
{
    [Test]
    public void Probe()
    {
        var runtime = OnnxRuntime.Load(new OnnxRuntimeOptions());
        var manifest = ModelManifest.Load(Path.Combine(TestAssets.RepositoryRoot, "models", "manifest.json"), Path.Combine(TestAssets.Cache, "models"));
        using var det = manifest.Open(runtime, "handdetect");
        using var lm = manifest.Open(runtime, "handlandmark-lite");
        TestContext.Out.WriteLine(string.Join("; ", det.Inputs.Concat(det.Outputs).Select(i => i.Name + "[" + string.Join(",", i.Shape) + "]")));
        TestContext.Out.WriteLine(string.Join("; ", lm.Inputs.Concat(lm.Outputs).Select(i => i.Name + "[" + string.Join(",", i.Shape) + "]")));
        var hand = new SyntheticHand(1);
        var images = new Dictionary<string, RawImage>
        {
            ["blank"] = new RawImage(320, 240, 3, new byte[320 * 240 * 3]),
            ["grey"] = new RawImage(320, 240, 3, Enumerable.Repeat((byte)128, 320 * 240 * 3).ToArray()),
            ["hand"] = hand.Draw(480, 480, 240, 280, 150, 0),
            ["hand-small"] = hand.Draw(480, 480, 240, 280, 100, 0.3f),
            ["hand-rot"] = hand.Draw(480, 480, 240, 240, 130, 1.2f),
        };
        foreach (var (name, img) in images)
        {
            foreach (var (s, o) in new[] { (1 / 127.5f, -1f), (1 / 255f, 0f) })
            {
                var toSource = ImageOps.Letterbox(img.Width, img.Height, 256);
                var t = new float[256 * 256 * 3];
                ImageOps.WarpToTensor(img, toSource, 256, 256, s, o, t);
                using var outs = det.Run(new OnnxInput(det.Inputs[0].Name, t, [1, 256, 256, 3]));
                var raw = outs[0].Values.ToArray();
                var all = PalmDetector.Decode(raw, toSource, 0.0f);
                for (var col = 0; col < 19; col++)
                {
                    float mn = float.MaxValue, mx = float.MinValue, sum = 0;
                    for (var a = 0; a < 2944; a++) { var v = raw[(a * 19) + col]; mn = Math.Min(mn, v); mx = Math.Max(mx, v); sum += v; }
                    TestContext.Out.Write($" c{col}:{mn:0.0}/{sum / 2944:0.0}/{mx:0.0}");
                }
                var bi = Enumerable.Range(0, 2944).MaxBy(a => raw[a * 19]);
                TestContext.Out.WriteLine($"\n best anchor {bi}: " + string.Join(",", Enumerable.Range(0, 19).Select(c => raw[(bi * 19) + c].ToString("0.0"))));
                var best = all.OrderByDescending(d => d.Score).First();
                var nms = PalmDetector.WeightedNms(all.Where(d => d.Score > 0.5f).ToList(), 0.3f);
                TestContext.Out.WriteLine($"{name} scale {s:0.0000}: best {best.Score:0.000} at ({best.CentreX:0},{best.CentreY:0}) {best.Width:0}x{best.Height:0} rot {best.Rotation:0.00} wrist ({best.Wrist.X:0},{best.Wrist.Y:0}) mid ({best.MiddleFingerBase.X:0},{best.MiddleFingerBase.Y:0}); >0.5 after nms: {nms.Count}");
            }
            var crop = new float[224 * 224 * 3];
            var fake = new PalmDetection(img.Width / 2f, img.Height / 2f, 150, 150, 1, [.. Enumerable.Repeat(new PalmPoint(img.Width / 2f, img.Height / 2f), 7)]);
            ImageOps.WarpToTensor(img, HandLandmarker.CropToSource(fake, 224), 224, 224, 1 / 255f, 0, crop);
            using var lo = lm.Run(new OnnxInput(lm.Inputs[0].Name, crop, [1, 224, 224, 3]));
            TestContext.Out.WriteLine($"  landmarks: presence raw {lo["Identity_1"].Values[0]:0.000} handedness raw {lo["Identity_2"].Values[0]:0.000} first {lo["Identity"].Values[0]:0.0},{lo["Identity"].Values[1]:0.0}");
        }
    }
}
