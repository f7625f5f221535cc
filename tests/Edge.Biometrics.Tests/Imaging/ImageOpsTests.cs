using Kezekshi.Edge.Biometrics.Imaging;

namespace Kezekshi.Edge.Biometrics.Tests.Imaging;

[TestFixture]
[Category("Unit")]
public sealed class ImageOpsTests
{
    [Test]
    public void Similarity_recovers_a_known_rotation_scale_and_translation()
    {
        var angle = 0.3f;
        var scale = 1.7f;
        var truth = new Affine(scale * MathF.Cos(angle), -scale * MathF.Sin(angle), 12, scale * MathF.Sin(angle), scale * MathF.Cos(angle), -5);
        (float X, float Y)[] from = [(10, 20), (40, 22), (25, 40), (26, 60)];
        var to = from.Select(p => truth.Apply(p.X, p.Y)).ToArray();

        var found = ImageOps.Similarity(from, to);

        Assert.That(found.M00, Is.EqualTo(truth.M00).Within(1e-4));
        Assert.That(found.M10, Is.EqualTo(truth.M10).Within(1e-4));
        Assert.That(found.Tx, Is.EqualTo(truth.Tx).Within(1e-3));
        Assert.That(found.Ty, Is.EqualTo(truth.Ty).Within(1e-3));
        var back = found.Inverse().Apply(to[2].X, to[2].Y);
        Assert.That(back.X, Is.EqualTo(from[2].X).Within(1e-3));
        Assert.That(back.Y, Is.EqualTo(from[2].Y).Within(1e-3));
    }

    [Test]
    public void An_identity_warp_copies_the_pixels_with_the_normalisation_applied()
    {
        var pixels = Enumerable.Range(0, 4 * 3 * 3).Select(i => (byte)(i * 7)).ToArray();
        var image = new RawImage(4, 3, 3, pixels);
        var tensor = new float[4 * 3 * 3];

        ImageOps.WarpToTensor(image, new Affine(1, 0, 0, 0, 1, 0), 4, 3, 1 / 127.5f, -1, tensor);

        for (var i = 0; i < pixels.Length; i++)
            Assert.That(tensor[i], Is.EqualTo((pixels[i] / 127.5f) - 1).Within(1e-5), $"value {i}");
    }

    [Test]
    public void Letterbox_centres_a_tall_image_in_the_square()
    {
        var toSource = ImageOps.Letterbox(92, 112, 256);

        var (x0, y0) = toSource.Apply(0, 0);
        var (x1, y1) = toSource.Apply(256, 256);

        Assert.That(y0, Is.EqualTo(0).Within(1e-3));
        Assert.That(y1, Is.EqualTo(112).Within(1e-3));
        Assert.That((x0 + x1) / 2, Is.EqualTo(46).Within(1e-3), "horizontally centred");
    }

    [Test]
    public void A_blurred_image_has_a_lower_Laplacian_variance_than_a_sharp_one()
    {
        const int size = 32;
        var sharp = new float[size * size];
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
                sharp[(y * size) + x] = ((x / 2) + (y / 2)) % 2 == 0 ? 200 : 50;
        var blurred = new float[size * size];
        for (var y = 1; y < size - 1; y++)
            for (var x = 1; x < size - 1; x++)
            {
                var sum = 0f;
                for (var dy = -1; dy <= 1; dy++)
                    for (var dx = -1; dx <= 1; dx++)
                        sum += sharp[((y + dy) * size) + x + dx];
                blurred[(y * size) + x] = sum / 9;
            }

        Assert.That(ImageOps.LaplacianVariance(blurred, size, size), Is.LessThan(ImageOps.LaplacianVariance(sharp, size, size) / 4));
    }

    [Test]
    public void Normalise_makes_a_unit_vector_and_leaves_zero_alone()
    {
        var v = Enumerable.Range(1, 37).Select(i => (float)i).ToArray();
        var zero = new float[19];

        ImageOps.Normalise(v);
        ImageOps.Normalise(zero);

        Assert.That(MathF.Sqrt(v.Sum(x => x * x)), Is.EqualTo(1f).Within(1e-5));
        Assert.That(zero, Has.All.EqualTo(0f));
    }

    [Test]
    public void A_PPM_header_is_parsed_including_comments()
    {
        var header = "P6\n# made by a test\n2 1\n255\n"u8.ToArray();
        var data = header.Concat(new byte[] { 1, 2, 3, 4, 5, 6 }).ToArray();

        var image = FfmpegImageDecoder.ParsePpm(data, "test");

        Assert.That((image.Width, image.Height, image.Channels), Is.EqualTo((2, 1, 3)));
        Assert.That(image.Pixels, Is.EqualTo(new byte[] { 1, 2, 3, 4, 5, 6 }));
    }

    [Test]
    public void A_capture_of_a_V4L2_device_or_RTSP_camera_asks_ffmpeg_for_the_right_input()
    {
        var v4l2 = new FfmpegCaptureSource(new CaptureOptions("/dev/video0")).Arguments();
        var rtsp = new FfmpegCaptureSource(new CaptureOptions("rtsp://10.0.0.5/stream", 320, 240)).Arguments();

        Assert.That(string.Join(' ', v4l2), Does.Contain("-f v4l2 -i /dev/video0"));
        Assert.That(string.Join(' ', rtsp), Does.Contain("-rtsp_transport tcp -i rtsp://10.0.0.5/stream"));
        Assert.That(string.Join(' ', rtsp), Does.Contain("scale=320:240").And.Contain("-pix_fmt rgb24"));
    }
}
