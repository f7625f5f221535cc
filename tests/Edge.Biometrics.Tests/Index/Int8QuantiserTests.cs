using Kezekshi.Edge.Biometrics.Index;
using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests.Index;

[TestFixture, Category("Unit")]
public sealed class Int8QuantiserTests
{
    [TestCase(7)]
    [TestCase(32)]
    [TestCase(192)]
    [TestCase(515)]
    public void The_int8_dot_product_equals_the_plain_integer_sum_at_any_length(int length)
    {
        var random = new Random(length);
        var a = new sbyte[length];
        var b = new sbyte[length];
        int expected = 0;
        for (int i = 0; i < length; i++)
        {
            a[i] = (sbyte)random.Next(-127, 128);
            b[i] = (sbyte)random.Next(-127, 128);
            expected += a[i] * b[i];
        }
        a[0] = 127;
        b[0] = -127;
        expected = a.Zip(b, (x, y) => x * y).Sum();
        Assert.That(Int8Quantiser.Dot(a, b), Is.EqualTo(expected));
    }

    [Test]
    public void A_quantised_unit_vector_keeps_its_dot_products_within_a_percent()
    {
        var random = new Random(1);
        var x = TestVectors.Unit(random, 192);
        var y = TestVectors.Near(x, random, 0.8f);
        var qx = new sbyte[192];
        var qy = new sbyte[192];
        float sx = Int8Quantiser.Quantise(x, qx);
        float sy = Int8Quantiser.Quantise(y, qy);
        float exact = x.Zip(y, (p, q) => p * q).Sum();
        Assert.That(Int8Quantiser.Dot(qx, qy) * sx * sy, Is.EqualTo(exact).Within(0.01f));
        Assert.That(qx.Max(v => Math.Abs((int)v)), Is.EqualTo(127), "the per-vector scale uses the full range");
    }

    [TestCase(1)]
    [TestCase(31)]
    [TestCase(32)]
    [TestCase(33)]
    [TestCase(192)]
    [TestCase(1024)]
    [TestCase(1100)]
    public void The_one_pass_quantiser_gives_the_codes_of_plain_scale_round_clamp_bit_for_bit(int length)
    {
        var random = new Random(length);
        var x = new float[length];
        for (int i = 0; i < length; i++)
            x[i] = (float)((random.NextDouble() * 2) - 1);
        x[0] = length > 1 ? 0.5f : x[0];
        if (length > 3)
        {
            // Values that land exactly half-way between two codes (k + 0.5), to pin rounding half to even.
            x[1] = -0.5f;
            x[2] = 2.5f / 127f * 0.5f * 2f;
            x[3] = 1f; // the largest: 127 after scaling
        }
        var codes = new sbyte[length];
        float scale = Int8Quantiser.Quantise(x, codes);

        float absMax = x.Max(v => Math.Abs(v));
        Assert.That(scale, Is.EqualTo(absMax / 127f));
        float factor = 127f / absMax;
        for (int i = 0; i < length; i++)
        {
            float reference = Math.Clamp(MathF.Round(x[i] * factor, MidpointRounding.ToEven), -127f, 127f);
            Assert.That(codes[i], Is.EqualTo((sbyte)reference), $"component {i} ({x[i]} × {factor})");
        }
    }
}
