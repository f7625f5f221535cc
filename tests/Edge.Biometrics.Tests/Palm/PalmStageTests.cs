using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Palm;

namespace Kezekshi.Edge.Biometrics.Tests.Palm;

/// <summary>
/// Each stage of the palm pipeline on inputs whose right answer is known: anchor decoding and suppression on
/// synthetic model outputs, MediaPipe's rotated crop, landmark alignment on a drawn hand placed at known poses,
/// and the quality gate's reasons. None of this says how the models do on real hands (no hand photos here).
/// </summary>
[TestFixture]
[Category("Unit")]
public sealed class PalmStageTests
{
    [Test]
    public void Anchors_are_the_2944_centres_of_the_8_16_32_pixel_grids()
    {
        var anchors = PalmDetector.AnchorCentres;
        Assert.That(anchors, Has.Count.EqualTo(2944));
        Assert.That(anchors[0], Is.EqualTo((4f, 4f)));
        Assert.That(anchors[1], Is.EqualTo((4f, 4f)), "two anchors per cell at stride 8");
        Assert.That(anchors[2047], Is.EqualTo((252f, 252f)));
        Assert.That(anchors[2048], Is.EqualTo((8f, 8f)), "stride 16 starts after 32×32×2");
        Assert.That(anchors[2560], Is.EqualTo((16f, 16f)), "stride 32 starts after 16×16×2 more");
        Assert.That(anchors[2943], Is.EqualTo((240f, 240f)));
    }

    /// <summary>A raw [2944 × 19] output with every anchor off except the given ones.</summary>
    private static float[] RawOutput(params (int Anchor, float Logit, float Dx, float Dy, float Size, float Rotation)[] hits)
    {
        var raw = new float[2944 * PalmDetector.Stride];
        for (var i = 0; i < 2944; i++)
            raw[i * PalmDetector.Stride] = -12;
        foreach (var (anchor, logit, dx, dy, size, rotation) in hits)
        {
            var r = raw.AsSpan(anchor * PalmDetector.Stride, PalmDetector.Stride);
            (r[0], r[1], r[2], r[3], r[4]) = (logit, dx, dy, size, size);
            // Wrist below the centre and the middle-finger base above it, turned by the rotation (clockwise).
            var (sin, cos) = MathF.SinCos(rotation);
            (r[5], r[6]) = (dx - (sin * 0.4f * size), dy + (cos * 0.4f * size));
            (r[9], r[10]) = (dx + (sin * 0.4f * size), dy - (cos * 0.4f * size));
        }
        return raw;
    }

    [Test]
    public void Decoding_puts_the_box_and_keypoints_back_into_source_pixels_through_the_letterbox()
    {
        // A 512×256 picture letterboxes into 256×256 at scale 2 with 64 rows of padding (128 source rows) at the top.
        var toSource = ImageOps.Letterbox(512, 256, PalmDetector.InputSize);
        var anchor = 2048 + (((5 * 16) + 3) * 2); // stride 16, cell (3, 5): centre (56, 88) in the input
        var found = PalmDetector.Decode(RawOutput((anchor, 3, 2, -4, 60, 0)), toSource, 0.5f);

        Assert.That(found, Has.Count.EqualTo(1));
        var palm = found[0];
        Assert.That(palm.Score, Is.EqualTo(1 / (1 + MathF.Exp(-3))).Within(1e-5));
        Assert.That(palm.CentreX, Is.EqualTo(2 * 58f).Within(1e-3));
        Assert.That(palm.CentreY, Is.EqualTo((2 * 84f) - 128).Within(1e-3));
        Assert.That(palm.Width, Is.EqualTo(120).Within(1e-3));
        Assert.That(palm.Wrist.Y, Is.GreaterThan(palm.MiddleFingerBase.Y), "wrist below the finger base");
        Assert.That(palm.Rotation, Is.EqualTo(0).Within(1e-4), "fingers up: no rotation");
    }

    [Test]
    public void Rotation_follows_the_wrist_to_middle_finger_line_as_MediaPipe_computes_it()
    {
        var toSource = new Affine(1, 0, 0, 0, 1, 0);
        foreach (var degrees in new[] { -150f, -90f, -30f, 0f, 45f, 90f, 170f })
        {
            var radians = degrees * MathF.PI / 180;
            var palm = PalmDetector.Decode(RawOutput((100, 4, 0, 0, 50, radians)), toSource, 0.5f).Single();
            Assert.That(palm.Rotation, Is.EqualTo(radians).Within(1e-3), $"{degrees}°");
        }
    }

    [Test]
    public void Suppression_blends_overlapping_boxes_and_keeps_separate_palms_best_first()
    {
        var toSource = new Affine(1, 0, 0, 0, 1, 0);
        // Two anchors of the same stride-8 cell row 10 (x 10 and 11) see one palm; a far anchor sees another.
        var a = ((10 * 32) + 10) * 2;
        var b = ((10 * 32) + 11) * 2;
        var far = ((28 * 32) + 28) * 2;
        var candidates = PalmDetector.Decode(RawOutput((a, 2, 4, 0, 60, 0), (b, 4, -4, 0, 60, 0), (far, 1, 0, 0, 40, 0)), toSource, 0.5f);
        Assert.That(candidates, Has.Count.EqualTo(3));

        var palms = PalmDetector.WeightedNms(candidates, 0.3f);

        Assert.That(palms, Has.Count.EqualTo(2));
        Assert.That(palms[0].Score, Is.EqualTo(1 / (1 + MathF.Exp(-4))).Within(1e-5), "the group keeps its best score");
        Assert.That(palms[0].CentreX, Is.EqualTo(88).Within(0.01), "both anchors put the centre at x = 88 (84 + 4, 92 − 4); blending keeps it");
        Assert.That(palms[1].CentreX, Is.EqualTo((28 * 8) + 4).Within(0.01));
        Assert.That(palms[0].Score, Is.GreaterThan(palms[1].Score));
    }

    [Test]
    public void The_landmark_crop_is_turned_so_the_fingers_point_up_and_shifted_towards_them()
    {
        // A palm pointing to the image's right: its fingers are at larger x.
        var palm = new PalmDetection(200, 150, 80, 80, 0.9f, [new(160, 150), new(240, 130), new(240, 150), new(240, 170), new(240, 190), new(180, 120), new(200, 110)]);
        Assert.That(palm.Rotation, Is.EqualTo(MathF.PI / 2).Within(1e-4));
        var toSource = HandLandmarker.CropToSource(palm, 224);

        var (topX, topY) = toSource.Apply(112, 0);
        var (centreX, centreY) = toSource.Apply(112, 112);
        Assert.That(topX, Is.GreaterThan(centreX + 100), "the crop's top edge is towards the fingers");
        Assert.That(topY, Is.EqualTo(centreY).Within(1e-3));
        Assert.That(centreX, Is.EqualTo(200 + 40).Within(1e-3), "centre shifted half a box towards the fingers");
        Assert.That(toSource.Scale * 224, Is.EqualTo(80 * 2.6f).Within(1e-2), "crop side 2.6 × the box");
    }

    [Test]
    public void Landmarks_come_back_in_source_pixels_with_presence_and_handedness()
    {
        var crop = ImageOps.RotatedCrop(300, 200, 224, 0, 224); // 1:1, crop (0, 0) at source (188, 88)
        var raw = new float[63];
        raw[9 * 3] = 112;
        raw[(9 * 3) + 1] = 50;
        var hand = HandLandmarker.FromOutputs(raw, 0.93f, 0.2f, crop);
        Assert.That(hand[9].X, Is.EqualTo(300).Within(1e-3));
        Assert.That(hand[9].Y, Is.EqualTo(138).Within(1e-3));
        Assert.That(hand.Presence, Is.EqualTo(0.93f));
        Assert.That(hand.Handedness, Is.EqualTo(0.2f));
    }

    private static float MeanAbsoluteDifference(float[] a, float[] b) => a.Zip(b, (x, y) => MathF.Abs(x - y)).Average();

    [Test]
    public void Alignment_maps_a_moved_turned_and_resized_palm_back_onto_the_same_region()
    {
        var hand = new SyntheticHand(seed: 3);
        var reference = PalmAligner.Align(hand.Draw(400, 400, 200, 210, 150, 0), SyntheticHand.Landmarks(200, 210, 150, 0));
        var moved = PalmAligner.Align(hand.Draw(480, 360, 280, 170, 118, 0.7f, noiseSeed: 1), SyntheticHand.Landmarks(280, 170, 118, 0.7f));
        var upsideDown = PalmAligner.Align(hand.Draw(400, 400, 190, 200, 170, 2.8f, noiseSeed: 2), SyntheticHand.Landmarks(190, 200, 170, 2.8f));
        var other = PalmAligner.Align(new SyntheticHand(seed: 4).Draw(400, 400, 200, 210, 150, 0), SyntheticHand.Landmarks(200, 210, 150, 0));
        // Unaligned: the same moved picture sampled at the reference pose's region.
        var unaligned = PalmAligner.Align(hand.Draw(480, 360, 280, 170, 118, 0.7f, noiseSeed: 1), SyntheticHand.Landmarks(200, 210, 150, 0));

        var same = MeanAbsoluteDifference(reference, moved);
        var same2 = MeanAbsoluteDifference(reference, upsideDown);
        var different = MeanAbsoluteDifference(reference, other);
        var wrong = MeanAbsoluteDifference(reference, unaligned);
        TestContext.Out.WriteLine($"mean |Δgrey|: moved {same:0.0}, upside down {same2:0.0}, other palm {different:0.0}, not aligned {wrong:0.0}");
        Assert.That(same, Is.LessThan(6));
        Assert.That(same2, Is.LessThan(6));
        Assert.That(different, Is.GreaterThan(2 * Math.Max(same, same2)));
        Assert.That(wrong, Is.GreaterThan(4 * Math.Max(same, same2)));
    }

    [Test]
    public void A_palm_seen_the_other_way_round_is_mirrored_so_the_index_finger_is_always_on_the_right()
    {
        var hand = new SyntheticHand(seed: 5);
        var landmarks = SyntheticHand.Landmarks(200, 200, 150, 0.3f);
        var mirroredLandmarks = SyntheticHand.Landmarks(200, 200, 150, 0.3f, mirrored: true);
        Assert.That(landmarks.Chirality, Is.GreaterThan(0));
        Assert.That(mirroredLandmarks.Chirality, Is.LessThan(0));

        var region = PalmAligner.Align(hand.Draw(400, 400, 200, 200, 150, 0.3f), landmarks);
        var mirrored = PalmAligner.Align(hand.Draw(400, 400, 200, 200, 150, 0.3f, mirrored: true, noiseSeed: 9), mirroredLandmarks);
        var difference = MeanAbsoluteDifference(region, mirrored);
        TestContext.Out.WriteLine($"mean |Δgrey| mirrored vs direct: {difference:0.0}");
        Assert.That(difference, Is.LessThan(6));
    }

    private static float[] Region(float level, float contrast)
    {
        var random = new Random(7);
        return [.. Enumerable.Range(0, 128 * 128).Select(_ => level + (float)((random.NextDouble() - 0.5) * contrast))];
    }

    [Test]
    public void The_quality_gate_says_what_is_wrong_in_words_a_pupil_understands()
    {
        var gate = new PalmQualityGate();
        var good = Region(150, 60);
        var hand = SyntheticHand.Landmarks(200, 200, 150, 0);

        Assert.That(gate.Assess(hand, good, 128).Accepted, Is.True);
        Assert.That(gate.Assess(hand with { Presence = 0.2f }, good, 128).RejectedBecause, Does.StartWith("no hand found"));
        Assert.That(gate.Assess(SyntheticHand.Landmarks(200, 200, 40, 0), good, 128).RejectedBecause, Does.StartWith("palm too small"));
        Assert.That(gate.Assess(hand with { Handedness = 0.9f }, good, 128).RejectedBecause, Does.Contain("back of the hand is towards the reader"));
        Assert.That(gate.Assess(hand with { Handedness = 0.55f }, good, 128).RejectedBecause, Does.StartWith("cannot tell the palm from the back"));
        Assert.That(gate.Assess(hand, Region(150, 1), 128).RejectedBecause, Does.StartWith("palm image blurred"));
        Assert.That(gate.Assess(hand, Region(20, 60), 128).RejectedBecause, Does.StartWith("palm too dark"));
        Assert.That(gate.Assess(hand, Region(240, 25), 128).RejectedBecause, Does.StartWith("palm over-exposed"));
        // A left palm (mirrored geometry, the model's other label) faces the camera too.
        Assert.That(gate.Assess(SyntheticHand.Landmarks(200, 200, 150, 0, mirrored: true, handedness: 0.9f), good, 128).Accepted, Is.True);
        Assert.That(new PalmQualityGate(new PalmQualityOptions(CheckPalmFacing: false)).Assess(hand with { Handedness = 0.9f }, good, 128).Accepted, Is.True);
    }
    [Test]
    public void The_new_image_helpers_compose_invert_and_sample_grey_as_documented()
    {
        var a = new Affine(0.8f, -0.6f, 12, 0.6f, 0.8f, -7);
        var identity = ImageOps.Compose(a, a.Inverse());
        var (x, y) = identity.Apply(33, -21);
        Assert.That(x, Is.EqualTo(33).Within(1e-3));
        Assert.That(y, Is.EqualTo(-21).Within(1e-3));
        var (cx, cy) = ImageOps.Compose(new Affine(1, 0, 5, 0, 1, 0), new Affine(2, 0, 0, 0, 2, 0)).Apply(1, 1);
        Assert.That((cx, cy), Is.EqualTo((12f, 2f)), "first shift by 5, then scale by 2");

        // An RGB picture sampled 1:1 into grey gives BT.601 luma; outside the picture reads as the fill.
        var rgb = new RawImage(2, 1, 3, [255, 0, 0, 0, 0, 255]);
        var grey = new float[3];
        ImageOps.WarpToGrey(rgb, new Affine(1, 0, 0, 0, 1, 0), 3, 1, grey, fill: 7);
        Assert.That(grey[0], Is.EqualTo(0.299f * 255).Within(1e-2));
        Assert.That(grey[1], Is.EqualTo(0.114f * 255).Within(1e-2));
        Assert.That(grey[2], Is.EqualTo(0.114f * 255).Within(1e-2), "x = 2 is within a pixel of the edge and clamps");

        // A crop turned by 90°: its x axis runs down the source.
        var crop = ImageOps.RotatedCrop(100, 100, 50, MathF.PI / 2, 50);
        var (rx, ry) = crop.Apply(50, 25);
        Assert.That(rx, Is.EqualTo(100).Within(1e-3));
        Assert.That(ry, Is.EqualTo(125).Within(1e-3));
    }
}
