using System.Numerics.Tensors;

namespace Kezekshi.Edge.Biometrics.Palm;

/// <summary>
/// A classical palmprint descriptor for an aligned grey palm region of interest (default 128×128):
/// competitive orientation coding with real Gabor filters, pooled per cell, as one L2-normalised
/// float vector that the embedding index compares by dot product.
/// </summary>
/// <remarks>
/// <para>Palm lines and creases are dark, thin and oriented. Following competitive code (Kong and
/// Zhang, ICPR 2004), six zero-mean real Gabor filters at 0°, 30° … 150° are applied; the line
/// orientation at a point is where the response is most negative. Instead of the winner's 3-bit
/// code compared by angular Hamming distance, each point contributes its orientation as a
/// double-angle vector (cos 2θ, sin 2θ) weighted by how clearly it won, and the vectors are averaged
/// over 8×8-pixel cells. The dot product of two such descriptors then behaves like the angular
/// distance (cos 2Δθ), and the pooling tolerates the few-pixel shifts left by landmark alignment,
/// which the original compensates for by matching at several offsets.</para>
/// <para>No palm embedding model exists in the registries this project can reach; this is the
/// honest classical stand-in. Its accuracy on real palms is NOT measured here (no palm dataset is
/// available); the tests only show that the same synthetic texture under small shifts and noise
/// scores above a different texture.</para>
/// </remarks>
public sealed class CompetitiveCodeDescriptor
{
    /// <summary>Model id recorded with palm templates; a change of parameters must change it.</summary>
    public const string ModelId = "palm-compcode-v1";

    private const int Orientations = 6;
    private readonly int _size;
    private readonly int _cell;
    private readonly int _step;
    private readonly int _radius;
    private readonly float[][] _kernels;
    private readonly float[] _cos2;
    private readonly float[] _sin2;

    /// <param name="size">Side of the square aligned region of interest, in pixels.</param>
    /// <param name="cell">Side of a pooling cell; the descriptor has (size/cell)² × 2 values.</param>
    public CompetitiveCodeDescriptor(int size = 128, int cell = 8, int step = 2, float wavelength = 9f, float sigma = 3.5f)
    {
        if (size % cell != 0)
            throw new ArgumentException($"The region side {size} must be a multiple of the cell side {cell}.", nameof(cell));
        _size = size;
        _cell = cell;
        _step = step;
        _radius = (int)MathF.Ceiling(2.5f * sigma);
        _kernels = new float[Orientations][];
        _cos2 = new float[Orientations];
        _sin2 = new float[Orientations];
        for (int k = 0; k < Orientations; k++)
        {
            float theta = MathF.PI * k / Orientations;
            _cos2[k] = MathF.Cos(2 * theta);
            _sin2[k] = MathF.Sin(2 * theta);
            _kernels[k] = Gabor(theta, wavelength, sigma, _radius);
        }
    }

    /// <summary>Values in one descriptor.</summary>
    public int Dimensions => (_size / _cell) * (_size / _cell) * 2;

    /// <summary>
    /// Describes an aligned grey (or RGB, converted) region of exactly size×size pixels. Returns the
    /// descriptor and a texture quality in [0, 1] (how clearly oriented lines were found).
    /// </summary>
    public (float[] Descriptor, float Quality) Describe(RawImage roi)
    {
        ArgumentNullException.ThrowIfNull(roi);
        if (roi.Width != _size || roi.Height != _size)
            throw new ArgumentException($"The palm region must be aligned to {_size}x{_size} pixels; got {roi.Width}x{roi.Height}.", nameof(roi));
        var grey = ToGrey(roi);
        int cells = _size / _cell;
        var descriptor = new float[cells * cells * 2];
        Span<float> responses = stackalloc float[Orientations];
        float winSum = 0;
        int points = 0;
        var patch = new float[(2 * _radius + 1) * (2 * _radius + 1)];
        for (int y = _step / 2; y < _size; y += _step)
            for (int x = _step / 2; x < _size; x += _step)
            {
                Patch(grey, x, y, patch);
                for (int k = 0; k < Orientations; k++)
                    responses[k] = TensorPrimitives.Dot(patch, _kernels[k]);
                int winner = TensorPrimitives.IndexOfMin(responses);
                float strength = TensorPrimitives.Average(responses) - responses[winner];
                if (strength <= 0)
                    continue;
                int cellIndex = (y / _cell) * cells + (x / _cell);
                descriptor[2 * cellIndex] += strength * _cos2[winner];
                descriptor[2 * cellIndex + 1] += strength * _sin2[winner];
                winSum += strength;
                points++;
            }
        float norm = TensorPrimitives.Norm(descriptor);
        if (norm == 0 || points == 0)
            return (descriptor, 0);
        TensorPrimitives.Divide(descriptor, norm, descriptor);
        // Coherence: how much of the per-point orientation energy survives pooling; flat or noisy regions score low.
        float quality = Math.Clamp(norm / winSum * MathF.Sqrt(cells * cells), 0f, 1f);
        return (descriptor, quality);
    }

    private float[] ToGrey(RawImage roi)
    {
        var grey = new float[_size * _size];
        if (roi.Pixels.Length != _size * _size * roi.Channels || roi.Channels is not (1 or 3))
            throw new ArgumentException($"The palm region's pixel buffer does not match {_size}x{_size}x{roi.Channels}.", nameof(roi));
        for (int i = 0; i < grey.Length; i++)
            grey[i] = roi.Channels == 1
                ? roi.Pixels[i]
                : 0.299f * roi.Pixels[3 * i] + 0.587f * roi.Pixels[3 * i + 1] + 0.114f * roi.Pixels[3 * i + 2];
        // Zero mean, unit variance: the descriptor ignores exposure and contrast.
        float mean = TensorPrimitives.Average(grey);
        TensorPrimitives.Subtract(grey, mean, grey);
        float deviation = TensorPrimitives.Norm(grey) / MathF.Sqrt(grey.Length);
        if (deviation > 0)
            TensorPrimitives.Divide(grey, deviation, grey);
        return grey;
    }

    private void Patch(float[] grey, int cx, int cy, float[] patch)
    {
        int side = 2 * _radius + 1;
        for (int dy = -_radius; dy <= _radius; dy++)
        {
            int y = Math.Clamp(cy + dy, 0, _size - 1);
            for (int dx = -_radius; dx <= _radius; dx++)
                patch[(dy + _radius) * side + dx + _radius] = grey[y * _size + Math.Clamp(cx + dx, 0, _size - 1)];
        }
    }

    private static float[] Gabor(float theta, float wavelength, float sigma, int radius)
    {
        int side = 2 * radius + 1;
        var kernel = new float[side * side];
        float cos = MathF.Cos(theta), sin = MathF.Sin(theta);
        for (int y = -radius; y <= radius; y++)
            for (int x = -radius; x <= radius; x++)
            {
                // Even (cosine) Gabor across the line direction: negative response on a dark line along theta.
                float across = -x * sin + y * cos;
                float along = x * cos + y * sin;
                kernel[(y + radius) * side + x + radius] = MathF.Exp(-(across * across + 0.25f * along * along) / (2 * sigma * sigma)) * MathF.Cos(2 * MathF.PI * across / wavelength);
            }
        float mean = TensorPrimitives.Average(kernel);
        TensorPrimitives.Subtract(kernel, mean, kernel); // zero DC: flat brightness gives no response
        return kernel;
    }
}

/// <summary>
/// Palm templates from ALIGNED regions of interest (the hand pipeline detects, finds landmarks and
/// aligns; this only describes). Plugs the classical descriptor into enrolment and the index.
/// </summary>
public sealed class AlignedPalmExtractor(CompetitiveCodeDescriptor? descriptor = null, float minQuality = 0.15f) : ITemplateExtractor
{
    private readonly CompetitiveCodeDescriptor _descriptor = descriptor ?? new CompetitiveCodeDescriptor();

    public BiometricModality Modality => BiometricModality.Palm;

    public int Dimensions => _descriptor.Dimensions;

    public string ModelId => CompetitiveCodeDescriptor.ModelId;

    public TemplateExtraction Extract(RawImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        try
        {
            var (template, quality) = _descriptor.Describe(image);
            return quality < minQuality
                ? new TemplateExtraction(null, quality, $"palm texture too faint (quality {quality:F2} < {minQuality:F2}): clean the sensor window, hold the palm flat and closer")
                : TemplateExtraction.Of(template, quality);
        }
        catch (ArgumentException e)
        {
            return TemplateExtraction.Rejected(e.Message);
        }
    }
}
