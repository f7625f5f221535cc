using Kezekshi.Edge.Biometrics.Face;

namespace Kezekshi.Edge.Biometrics.Tests.Face;

[TestFixture]
[Category("Unit")]
public sealed class FaceQualityGateTests
{
    private const int Size = 112;

    /// <summary>A frontal face with the eyes <paramref name="eyeDistance"/> apart and the nose shifted sideways by <paramref name="noseShift"/>.</summary>
    private static FaceDetection Face(float eyeDistance = 40, float noseShift = 0, float tilt = 0)
    {
        var cx = 100f;
        var cy = 100f;
        var dx = eyeDistance / 2 * MathF.Cos(tilt);
        var dy = eyeDistance / 2 * MathF.Sin(tilt);
        FacePoint[] k =
        [
            new(cx - dx, cy - dy), new(cx + dx, cy + dy), new(cx + noseShift, cy + (eyeDistance * 0.5f)),
            new(cx, cy + eyeDistance), new(cx - eyeDistance, cy), new(cx + eyeDistance, cy),
        ];
        return new FaceDetection(cx - eyeDistance, cy - eyeDistance, eyeDistance * 2, eyeDistance * 2, 0.95f, k);
    }

    /// <summary>A textured crop (sharp) at a given mean grey level.</summary>
    private static float[] Crop(float level, float contrast = 60)
    {
        var random = new Random(3);
        return [.. Enumerable.Range(0, Size * Size).Select(_ => level + (float)((random.NextDouble() - 0.5) * contrast))];
    }

    private static readonly FaceQualityGate _gate = new();

    [Test]
    public void A_good_frontal_face_is_accepted()
    {
        var q = _gate.Assess(Face(), Crop(120), Size);

        Assert.That(q.Accepted, q.RejectedBecause);
        Assert.That(q.Score, Is.GreaterThan(0.5f));
    }

    [Test]
    public void A_small_face_is_refused_with_come_closer()
    {
        Assert.That(_gate.Assess(Face(eyeDistance: 8), Crop(120), Size).RejectedBecause, Does.Contain("too small").And.Contain("come closer"));
    }

    [Test]
    public void A_face_turned_sideways_is_refused()
    {
        Assert.That(_gate.Assess(Face(noseShift: 30), Crop(120), Size).RejectedBecause, Does.Contain("turned sideways"));
    }

    [Test]
    public void A_tilted_head_is_refused()
    {
        Assert.That(_gate.Assess(Face(tilt: 0.9f), Crop(120), Size).RejectedBecause, Does.Contain("tilted"));
    }

    [Test]
    public void A_flat_blurred_crop_is_refused_as_blurred()
    {
        Assert.That(_gate.Assess(Face(), Crop(120, contrast: 0), Size).RejectedBecause, Does.Contain("blurred"));
    }

    [Test]
    public void Dark_and_over_exposed_crops_are_refused()
    {
        Assert.That(_gate.Assess(Face(), Crop(20), Size).RejectedBecause, Does.Contain("too dark"));
        Assert.That(_gate.Assess(Face(), Crop(240), Size).RejectedBecause, Does.Contain("over-exposed"));
    }

    [Test]
    public void Overlapping_detections_of_one_face_merge_into_one()
    {
        var a = Face();
        var b = a with { Left = a.Left + 2, Score = 0.8f };
        var c = Face() with { Left = 400, Top = 400 };

        var merged = BlazeFaceDetector.WeightedNms([a, b, c], 0.3f);

        Assert.That(merged, Has.Count.EqualTo(2));
        Assert.That(merged[0].Left, Is.GreaterThan(a.Left).And.LessThan(b.Left), "blended by score");
    }
}
