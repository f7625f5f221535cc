using Kezekshi.Edge.Biometrics.Face;
using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Tests.Models;

namespace Kezekshi.Edge.Biometrics.Tests.Face;

/// <summary>The crops each embedder is fed (five-point alignment, detector box, upright box).</summary>
[TestFixture]
[Category("Unit")]
public sealed class FaceCropTests
{
    /// <summary>A face whose eye line is turned by <paramref name="tiltDegrees"/>, box 80×100 centred on (200, 150).</summary>
    private static FaceDetection Face(float tiltDegrees = 0)
    {
        var t = tiltDegrees * MathF.PI / 180;
        var (cos, sin) = (MathF.Cos(t), MathF.Sin(t));
        FacePoint At(float x, float y) => new(200 + (x * cos) - (y * sin), 150 + (x * sin) + (y * cos));
        FacePoint[] k = [At(-18, -15), At(18, -15), At(0, 5), At(0, 25), At(-38, -5), At(38, -5)];
        return new FaceDetection(160, 100, 80, 100, 0.9f, k);
    }

    [Test]
    public void The_box_crop_is_the_detector_box_enlarged_and_made_square_on_its_centre()
    {
        var toSource = FaceAligner.CropToSource(Face(), 224, FaceCrop.Box, boxScale: 1.4f);

        var (cx, cy) = toSource.Apply(112, 112);
        Assert.That(cx, Is.EqualTo(200).Within(1e-3), "crop centre → box centre");
        Assert.That(cy, Is.EqualTo(150).Within(1e-3));
        var (left, top) = toSource.Apply(0, 0);
        var (right, bottom) = toSource.Apply(224, 224);
        Assert.That(right - left, Is.EqualTo(140).Within(1e-3), "side = larger box side (100) × 1.4");
        Assert.That(bottom - top, Is.EqualTo(140).Within(1e-3), "square");
    }

    [Test]
    public void The_box_crop_does_not_turn_a_tilted_face_and_the_upright_box_levels_its_eyes()
    {
        var face = Face(tiltDegrees: 20);

        var box = FaceAligner.CropToSource(face, 224, FaceCrop.Box).Inverse();
        var upright = FaceAligner.CropToSource(face, 224, FaceCrop.UprightBox).Inverse();

        var (_, boxRightY) = box.Apply(face.RightEye.X, face.RightEye.Y);
        var (_, boxLeftY) = box.Apply(face.LeftEye.X, face.LeftEye.Y);
        Assert.That(MathF.Abs(boxLeftY - boxRightY), Is.GreaterThan(10), "the plain box keeps the tilt");
        var (rx, ry) = upright.Apply(face.RightEye.X, face.RightEye.Y);
        var (lx, ly) = upright.Apply(face.LeftEye.X, face.LeftEye.Y);
        Assert.That(ly, Is.EqualTo(ry).Within(1e-2), "eyes level in the upright crop");
        Assert.That(lx, Is.GreaterThan(rx), "not mirrored: the subject's right eye stays on the image left");
    }

    [Test]
    public void The_aligned_crop_is_the_five_point_alignment()
    {
        var face = Face(tiltDegrees: 7);

        Assert.That(FaceAligner.CropToSource(face, 112, FaceCrop.Aligned), Is.EqualTo(FaceAligner.CropToSource(face, 112)));
    }

    [Test]
    public void Each_embedder_is_fed_as_the_library_it_comes_from_feeds_it()
    {
        // @vladmandic/human: faceres gets the BlazeFace box ×1.4 in 0..255 and its 1024-value global_pooling output is the
        // descriptor; MobileFaceNet_TF was trained on five-point aligned crops in (pixel − 127.5)/128.
        var faceres = FaceEmbedderOptions.ForModel("faceres");
        var mobilefacenet = FaceEmbedderOptions.ForModel("mobilefacenet");

        Assert.That((faceres.InputScale, faceres.InputOffset), Is.EqualTo((1f, 0f)));
        Assert.That(faceres.Crop, Is.Not.EqualTo(FaceCrop.Aligned));
        Assert.That(faceres.BoxScale, Is.EqualTo(1.4f));
        Assert.That(faceres.OutputName, Is.EqualTo("global_pooling/Mean"));
        Assert.That(mobilefacenet.Crop, Is.EqualTo(FaceCrop.Aligned));
        Assert.That(mobilefacenet.InputScale * 255 + mobilefacenet.InputOffset, Is.EqualTo(1f).Within(0.01f), "white → about +1");
        Assert.That(new FacePipelineOptions().Embedder, Is.Null, "null = the model's own settings");
    }
}

/// <summary>Flip-averaging with the real faceres model: a crop and its mirror image give the same template.</summary>
[TestFixture]
[Category("Integration")]
public sealed class FlipAverageTests
{
    [Test]
    public void A_flip_averaged_template_is_the_same_for_a_face_and_its_mirror_image()
    {
        var runtime = TestAssets.Runtime;
        var manifest = TestAssets.Manifest;
        using var embedder = new OnnxFaceEmbedder(manifest.Open(runtime, "faceres"), "faceres", FaceEmbedderOptions.ForModel("faceres") with { FlipAverage = true });
        var image = new FfmpegImageDecoder().DecodeFile(Path.Combine(TestAssets.OrlFaces, "s4", "1.pgm"));
        var size = embedder.InputSize;
        var tensor = new float[size * size * 3];
        // The whole 92×112 picture stretched onto the input: a loose face crop, enough to exercise the model.
        ImageOps.WarpToTensor(image, new Affine(image.Width / (float)size, 0, 0, 0, image.Height / (float)size, 0), size, size, 1, 0, tensor);
        var mirrored = new float[tensor.Length];
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
                Array.Copy(tensor, ((y * size) + x) * 3, mirrored, ((y * size) + (size - 1 - x)) * 3, 3);
        }

        var a = new float[embedder.Dimensions];
        var b = new float[embedder.Dimensions];
        embedder.Embed(tensor, a);
        embedder.Embed(mirrored, b);

        Assert.That(a.Zip(b, (x, y) => x * y).Sum(), Is.GreaterThan(0.9999f));
        Assert.That(embedder.ModelId, Does.Contain("flip"), "flip-averaged templates are never compared with plain ones");
    }
}
