using System.Numerics.Tensors;
using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Palm;
using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests.Palm;

/// <summary>
/// Behaviour on SYNTHETIC palm textures (dark principal lines and creases on skin-like shading):
/// the same texture re-captured with small shifts and noise scores above a different texture.
/// This shows the descriptor works as designed; it says nothing about accuracy on real palms.
/// </summary>
[TestFixture, Category("Unit")]
public sealed class CompetitiveCodeDescriptorTests
{
    private const int Size = 128;

    /// <summary>A palm-like texture: three long curved principal lines and many short creases.</summary>
    private static float[] Texture(int seed)
    {
        var random = new Random(seed);
        var image = new float[Size * Size];
        for (int y = 0; y < Size; y++)
            for (int x = 0; x < Size; x++)
                image[y * Size + x] = 170 + 20 * MathF.Sin(x / 40f + seed) * MathF.Cos(y / 50f);
        for (int line = 0; line < 3; line++)
            Curve(image, random, length: 140, width: 2.2f, darkness: 70, bend: 0.012f);
        for (int crease = 0; crease < 45; crease++)
            Curve(image, random, length: random.Next(15, 40), width: 1.2f, darkness: 45, bend: 0.03f);
        return image;
    }

    private static void Curve(float[] image, Random random, int length, float width, float darkness, float bend)
    {
        float x = random.Next(Size), y = random.Next(Size);
        float angle = (float)(random.NextDouble() * Math.PI * 2);
        float turn = (float)(random.NextDouble() * 2 - 1) * bend;
        for (int s = 0; s < length; s++)
        {
            for (int dy = -3; dy <= 3; dy++)
                for (int dx = -3; dx <= 3; dx++)
                {
                    int px = (int)x + dx, py = (int)y + dy;
                    if (px < 0 || py < 0 || px >= Size || py >= Size)
                        continue;
                    float d = MathF.Sqrt(dx * dx + dy * dy);
                    if (d <= width)
                        image[py * Size + px] = Math.Min(image[py * Size + px], image[py * Size + px] - darkness * (1 - d / (width + 1)));
                }
            x += MathF.Cos(angle);
            y += MathF.Sin(angle);
            angle += turn;
        }
    }

    /// <summary>A re-capture: shifted by (dx, dy) pixels, brightness/contrast changed, sensor noise added.</summary>
    private static RawImage Capture(float[] texture, int dx, int dy, float noise, int seed, float gain = 1f, float offset = 0f)
    {
        var random = new Random(seed);
        var pixels = new byte[Size * Size];
        for (int y = 0; y < Size; y++)
            for (int x = 0; x < Size; x++)
            {
                int sx = Math.Clamp(x - dx, 0, Size - 1), sy = Math.Clamp(y - dy, 0, Size - 1);
                double n = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                pixels[y * Size + x] = (byte)Math.Clamp(texture[sy * Size + sx] * gain + offset + noise * n, 0, 255);
            }
        return new RawImage(Size, Size, 1, pixels);
    }

    [Test]
    public void The_same_palm_with_small_shifts_and_noise_scores_above_every_other_palm()
    {
        var descriptor = new CompetitiveCodeDescriptor();
        var genuine = new List<float>();
        var impostor = new List<float>();
        for (int palm = 0; palm < 6; palm++)
        {
            var texture = Texture(palm);
            var enrolled = descriptor.Describe(Capture(texture, 0, 0, 4, seed: 100 + palm)).Descriptor;
            foreach (var (dx, dy) in new[] { (2, 0), (0, -2), (3, 2), (-2, 3) })
                genuine.Add(TensorPrimitives.Dot(enrolled, descriptor.Describe(Capture(texture, dx, dy, 10, seed: 200 + palm * 10 + dx, gain: 0.85f, offset: 15)).Descriptor));
            for (int other = 0; other < 6; other++)
                if (other != palm)
                    impostor.Add(TensorPrimitives.Dot(enrolled, descriptor.Describe(Capture(Texture(other), 1, 1, 10, seed: 300 + other)).Descriptor));
        }
        TestContext.Out.WriteLine($"genuine min {genuine.Min():F3} mean {genuine.Average():F3}; impostor max {impostor.Max():F3} mean {impostor.Average():F3}");
        Assert.That(genuine.Min(), Is.GreaterThan(impostor.Max() + 0.1f));
    }

    [Test]
    public void Palm_templates_go_through_the_same_index_and_purpose_rules()
    {
        var extractor = new AlignedPalmExtractor();
        var index = new EmbeddingIndex(new MatchPolicy { AcceptThreshold = 0.5f, Margin = 0.05f });
        var textures = Enumerable.Range(0, 12).Select(Texture).ToArray();
        var templates = new List<IndexedTemplate>();
        for (int p = 0; p < textures.Length; p++)
        {
            var extraction = extractor.Extract(Capture(textures[p], 0, 0, 4, seed: p));
            Assert.That(extraction.Succeeded, Is.True, extraction.RejectedBecause);
            templates.Add(new IndexedTemplate(p + 1, p + 1, BiometricModality.Palm, extractor.ModelId, extraction.Template!));
        }
        index.Load(templates, templates.ToDictionary(t => t.PupilId, t => t.PupilId == 4 ? BiometricPurpose.CanteenPayment : BiometricPurpose.Access), []);
        var space = new TemplateSpace(BiometricModality.Palm, extractor.ModelId);

        var probe = extractor.Extract(Capture(textures[6], 2, -1, 10, seed: 77)).Template!;
        Assert.That(index.Identify(probe, BiometricPurpose.Access, space).PupilId, Is.EqualTo(7));
        var canteen = extractor.Extract(Capture(textures[3], 1, 2, 10, seed: 78)).Template!;
        Assert.That(index.Identify(canteen, BiometricPurpose.CanteenPayment, space).PupilId, Is.EqualTo(4));
        Assert.That(index.Identify(canteen, BiometricPurpose.Access, space).PupilId, Is.Not.EqualTo(4));
    }

    [Test]
    public void A_flat_or_misaligned_region_is_rejected_with_the_reason()
    {
        var extractor = new AlignedPalmExtractor();
        var flat = extractor.Extract(new RawImage(Size, Size, 1, Enumerable.Repeat((byte)160, Size * Size).ToArray()));
        Assert.That(flat.Succeeded, Is.False);
        Assert.That(flat.RejectedBecause, Does.Contain("too faint"));
        var wrongSize = extractor.Extract(new RawImage(64, 64, 1, new byte[64 * 64]));
        Assert.That(wrongSize.RejectedBecause, Does.Contain("aligned to 128x128"));
    }
}
