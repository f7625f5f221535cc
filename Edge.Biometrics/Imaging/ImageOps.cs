using System.Numerics;

namespace Kezekshi.Edge.Biometrics.Imaging;

/// <summary>A 2-D similarity or affine transform x' = A·x + b, with A = [[M00, M01], [M10, M11]].</summary>
public readonly record struct Affine(float M00, float M01, float Tx, float M10, float M11, float Ty)
{
    public (float X, float Y) Apply(float x, float y) => ((M00 * x) + (M01 * y) + Tx, (M10 * x) + (M11 * y) + Ty);

    public Affine Inverse()
    {
        var det = (M00 * M11) - (M01 * M10);
        var i00 = M11 / det;
        var i01 = -M01 / det;
        var i10 = -M10 / det;
        var i11 = M00 / det;
        return new Affine(i00, i01, -((i00 * Tx) + (i01 * Ty)), i10, i11, -((i10 * Tx) + (i11 * Ty)));
    }

    /// <summary>The scale of a similarity transform (|A| per axis).</summary>
    public float Scale => MathF.Sqrt((M00 * M00) + (M10 * M10));
}

/// <summary>The managed image operations the pipeline needs: sampling into model tensors, warps, statistics.</summary>
public static class ImageOps
{
    /// <summary>
    /// Samples <paramref name="image"/> through <paramref name="outputToSource"/> into an NHWC float tensor
    /// of <paramref name="width"/>×<paramref name="height"/>×3 with value = pixel·scale + offset; pixels outside the
    /// image read as <paramref name="fill"/> (0..255). Bilinear.
    /// </summary>
    public static void WarpToTensor(RawImage image, Affine outputToSource, int width, int height, float scale, float offset, Span<float> tensor, float fill = 0)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (tensor.Length < width * height * 3)
            throw new ArgumentException("The tensor is smaller than width × height × 3.", nameof(tensor));
        var pixels = image.Pixels;
        var (w, h, c) = (image.Width, image.Height, image.Channels);
        var fillValue = (fill * scale) + offset;
        for (var v = 0; v < height; v++)
        {
            // Walk the row incrementally: x' = x0 + u·M00 …, which saves two multiplies per pixel.
            var sx = (outputToSource.M01 * v) + outputToSource.Tx;
            var sy = (outputToSource.M11 * v) + outputToSource.Ty;
            var row = tensor.Slice(v * width * 3, width * 3);
            for (var u = 0; u < width; u++, sx += outputToSource.M00, sy += outputToSource.M10)
            {
                var o = u * 3;
                if (sx < -1 || sy < -1 || sx > w || sy > h)
                {
                    row[o] = row[o + 1] = row[o + 2] = fillValue;
                    continue;
                }
                var t = BilinearTap.At(sx, sy, w, h);
                if (c == 3)
                {
                    for (var k = 0; k < 3; k++)
                        row[o + k] = (t.Sample(pixels, 3, k) * scale) + offset;
                }
                else
                {
                    row[o] = row[o + 1] = row[o + 2] = (t.Sample(pixels, 1, 0) * scale) + offset;
                }
            }
        }
    }

    /// <summary>
    /// The transform that letterboxes an image into a square of <paramref name="size"/> (aspect kept, centred,
    /// padded), returned as output→source so <see cref="WarpToTensor"/> can sample through it.
    /// </summary>
    public static Affine Letterbox(int width, int height, int size)
    {
        var s = (float)Math.Max(width, height) / size;
        var padX = ((size * s) - width) / 2;
        var padY = ((size * s) - height) / 2;
        return new Affine(s, 0, -padX, 0, s, -padY);
    }

    /// <summary>
    /// Least-squares similarity transform (rotation, uniform scale, translation) mapping <paramref name="from"/>
    /// onto <paramref name="to"/> (Umeyama 1991, without reflection).
    /// </summary>
    public static Affine Similarity(ReadOnlySpan<(float X, float Y)> from, ReadOnlySpan<(float X, float Y)> to)
    {
        if (from.Length != to.Length || from.Length < 2)
            throw new ArgumentException("Need at least two point pairs.", nameof(from));
        var n = from.Length;
        float mx = 0, my = 0, tx = 0, ty = 0;
        for (var i = 0; i < n; i++)
        {
            mx += from[i].X;
            my += from[i].Y;
            tx += to[i].X;
            ty += to[i].Y;
        }
        mx /= n;
        my /= n;
        tx /= n;
        ty /= n;
        // For a similarity [a -b; b a]: a = Σ(x·x' + y·y') / Σ|p|², b = Σ(x·y' − y·x') / Σ|p|² over centred points.
        float sxx = 0, sxy = 0, norm = 0;
        for (var i = 0; i < n; i++)
        {
            var (x, y) = (from[i].X - mx, from[i].Y - my);
            var (u, v) = (to[i].X - tx, to[i].Y - ty);
            sxx += (x * u) + (y * v);
            sxy += (x * v) - (y * u);
            norm += (x * x) + (y * y);
        }
        var a = sxx / norm;
        var b = sxy / norm;
        return new Affine(a, -b, tx - ((a * mx) - (b * my)), b, a, ty - ((b * mx) + (a * my)));
    }

    /// <summary>
    /// Samples <paramref name="image"/> through <paramref name="outputToSource"/> into grey levels (0..255, BT.601
    /// luma for RGB) of <paramref name="width"/>×<paramref name="height"/>, row-major; pixels outside the image read as
    /// <paramref name="fill"/>. Bilinear. For regions described in grey (e.g. the palm region of interest).
    /// </summary>
    public static void WarpToGrey(RawImage image, Affine outputToSource, int width, int height, Span<float> grey, float fill = 0)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (grey.Length < width * height)
            throw new ArgumentException("The output is smaller than width × height.", nameof(grey));
        var pixels = image.Pixels;
        var (w, h, c) = (image.Width, image.Height, image.Channels);
        for (var v = 0; v < height; v++)
        {
            var sx = (outputToSource.M01 * v) + outputToSource.Tx;
            var sy = (outputToSource.M11 * v) + outputToSource.Ty;
            var row = grey.Slice(v * width, width);
            for (var u = 0; u < width; u++, sx += outputToSource.M00, sy += outputToSource.M10)
            {
                if (sx < -1 || sy < -1 || sx > w || sy > h)
                {
                    row[u] = fill;
                    continue;
                }
                var t = BilinearTap.At(sx, sy, w, h);
                if (c == 3)
                {
                    row[u] = (0.299f * t.Sample(pixels, 3, 0)) + (0.587f * t.Sample(pixels, 3, 1)) + (0.114f * t.Sample(pixels, 3, 2));
                }
                else
                {
                    row[u] = t.Sample(pixels, 1, 0);
                }
            }
        }
    }

    /// <summary>The transform that applies <paramref name="first"/>, then <paramref name="then"/>.</summary>
    public static Affine Compose(Affine first, Affine then) => new(
        (then.M00 * first.M00) + (then.M01 * first.M10),
        (then.M00 * first.M01) + (then.M01 * first.M11),
        (then.M00 * first.Tx) + (then.M01 * first.Ty) + then.Tx,
        (then.M10 * first.M00) + (then.M11 * first.M10),
        (then.M10 * first.M01) + (then.M11 * first.M11),
        (then.M10 * first.Tx) + (then.M11 * first.Ty) + then.Ty);

    /// <summary>
    /// The output→source transform of a square crop of <paramref name="size"/> pixels showing a rotated square of side
    /// <paramref name="side"/> source pixels centred on (<paramref name="centreX"/>, <paramref name="centreY"/>): the crop's
    /// x axis runs along angle <paramref name="radians"/> in the source (y down, clockwise positive).
    /// </summary>
    public static Affine RotatedCrop(float centreX, float centreY, float side, float radians, int size)
    {
        var s = side / size;
        var (sin, cos) = MathF.SinCos(radians);
        // source = centre + s·R·(u − size/2, v − size/2), R's columns being the crop's x and y axes in the source.
        var a = new Affine(s * cos, -s * sin, 0, s * sin, s * cos, 0);
        var half = size / 2f;
        var (ox, oy) = a.Apply(-half, -half);
        return a with { Tx = centreX + ox, Ty = centreY + oy };
    }

    /// <summary>Grey level (0..255) of an NHWC RGB tensor sampled with scale/offset, undone.</summary>
    public static float[] GreyFromTensor(ReadOnlySpan<float> tensor, int width, int height, float scale, float offset)
    {
        var grey = new float[width * height];
        for (var i = 0; i < grey.Length; i++)
        {
            var r = (tensor[i * 3] - offset) / scale;
            var g = (tensor[(i * 3) + 1] - offset) / scale;
            var b = (tensor[(i * 3) + 2] - offset) / scale;
            grey[i] = (0.299f * r) + (0.587f * g) + (0.114f * b);
        }
        return grey;
    }

    /// <summary>Variance of the 4-neighbour Laplacian: low means blurred (the usual sharpness measure).</summary>
    public static float LaplacianVariance(ReadOnlySpan<float> grey, int width, int height)
    {
        double sum = 0, sumSq = 0;
        var count = 0;
        for (var y = 1; y < height - 1; y++)
        {
            var row = y * width;
            for (var x = 1; x < width - 1; x++)
            {
                var i = row + x;
                var l = grey[i - 1] + grey[i + 1] + grey[i - width] + grey[i + width] - (4 * grey[i]);
                sum += l;
                sumSq += l * l;
                count++;
            }
        }
        var mean = sum / count;
        return (float)((sumSq / count) - (mean * mean));
    }

    /// <summary>Mean of a span, vectorised (used for exposure).</summary>
    public static float Mean(ReadOnlySpan<float> values)
    {
        var sum = Vector<float>.Zero;
        var i = 0;
        for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            sum += new Vector<float>(values.Slice(i, Vector<float>.Count));
        var total = Vector.Sum(sum);
        for (; i < values.Length; i++)
            total += values[i];
        return total / values.Length;
    }

    /// <summary>Scales a vector to unit length in place (SIMD); a zero vector stays zero.</summary>
    public static void Normalise(Span<float> vector)
    {
        var acc = Vector<float>.Zero;
        var i = 0;
        for (; i <= vector.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var v = new Vector<float>(vector.Slice(i, Vector<float>.Count));
            acc += v * v;
        }
        var sumSq = Vector.Sum(acc);
        for (; i < vector.Length; i++)
            sumSq += vector[i] * vector[i];
        if (sumSq <= 0)
            return;
        var inv = 1 / MathF.Sqrt(sumSq);
        for (i = 0; i <= vector.Length - Vector<float>.Count; i += Vector<float>.Count)
            (new Vector<float>(vector.Slice(i, Vector<float>.Count)) * inv).CopyTo(vector.Slice(i, Vector<float>.Count));
        for (; i < vector.Length; i++)
            vector[i] *= inv;
    }
}

/// <summary>
/// The four source pixels around a sampling point (clamped to the image) and their bilinear weights:
/// one place for the arithmetic both warps do per output pixel.
/// </summary>
internal readonly struct BilinearTap
{
    private readonly int _i00, _i01, _i10, _i11;
    private readonly float _w00, _w01, _w10, _w11;

    private BilinearTap(int i00, int i01, int i10, int i11, float fx, float fy)
    {
        (_i00, _i01, _i10, _i11) = (i00, i01, i10, i11);
        _w00 = (1 - fx) * (1 - fy);
        _w01 = fx * (1 - fy);
        _w10 = (1 - fx) * fy;
        _w11 = fx * fy;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static BilinearTap At(float sx, float sy, int w, int h)
    {
        var x0 = (int)MathF.Floor(sx);
        var y0 = (int)MathF.Floor(sy);
        var xa = Math.Clamp(x0, 0, w - 1);
        var xb = Math.Clamp(x0 + 1, 0, w - 1);
        var ya = Math.Clamp(y0, 0, h - 1);
        var yb = Math.Clamp(y0 + 1, 0, h - 1);
        return new BilinearTap((ya * w) + xa, (ya * w) + xb, (yb * w) + xa, (yb * w) + xb, sx - x0, sy - y0);
    }

    /// <summary>Channel <paramref name="channel"/> of an image with <paramref name="channels"/> interleaved channels.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public float Sample(byte[] pixels, int channels, int channel) =>
        (pixels[(_i00 * channels) + channel] * _w00) + (pixels[(_i01 * channels) + channel] * _w01)
        + (pixels[(_i10 * channels) + channel] * _w10) + (pixels[(_i11 * channels) + channel] * _w11);
}
