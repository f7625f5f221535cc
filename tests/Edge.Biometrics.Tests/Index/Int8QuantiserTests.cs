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
}
