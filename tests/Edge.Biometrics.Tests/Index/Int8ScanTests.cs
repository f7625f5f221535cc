using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Kezekshi.Edge.Biometrics.Index;
using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests.Index;

/// <summary>
/// The four-rows-at-a-time int8 kernel and the scan built on it, against plain scalar references:
/// the same int32 dot products, the same candidates under purpose masks, the same top-k as exact
/// float search.
/// </summary>
[TestFixture, Category("Unit")]
public sealed class Int8ScanTests
{
    private static readonly BiometricPurpose[] Purposes = [BiometricPurpose.Access, BiometricPurpose.Attendance, BiometricPurpose.CanteenPayment];

    [TestCase(1)]
    [TestCase(7)]
    [TestCase(31)]
    [TestCase(32)]
    [TestCase(33)]
    [TestCase(63)]
    [TestCase(64)]
    [TestCase(65)]
    [TestCase(128)]
    [TestCase(192)]
    [TestCase(200)]
    [TestCase(512)]
    [TestCase(515)]
    public void Four_row_dot_products_equal_the_scalar_integer_sums_at_any_length(int length)
    {
        var random = new Random(length);
        const int rowCount = 12;
        var vectors = new float[rowCount * length];
        for (int i = 0; i < vectors.Length; i++)
            vectors[i] = (float)(random.NextDouble() * 2 - 1);
        var rows = Int8Rows.Quantise(vectors, length, rowCount);
        Assert.That(rows.Stride % 32, Is.Zero);
        Assert.That(rows.Stride, Is.GreaterThanOrEqualTo(length));

        var query = new sbyte[rows.Stride];
        for (int j = 0; j < length; j++)
            query[j] = (sbyte)random.Next(-127, 128);
        query[0] = -127; // the extremes: |q| = 127 against a row code of ±127
        var magnitude = new byte[rows.Stride];
        Int8Quantiser.Magnitudes(query, magnitude);

        for (int first = 0; first + 4 <= rowCount; first += 4)
        {
            var dots = Int8Quantiser.Dot4(ref query[0], ref magnitude[0], ref rows.RowReference(first), rows.Stride);
            for (int k = 0; k < 4; k++)
            {
                var row = rows.Row(first + k);
                Assert.That(row.Length, Is.EqualTo(length));
                int expected = 0;
                for (int j = 0; j < length; j++)
                    expected += query[j] * row[j];
                Assert.That(dots.GetElement(k), Is.EqualTo(expected), $"row {first + k}");
                Assert.That(Int8Quantiser.Dot(query, rows.PaddedRow(first + k)), Is.EqualTo(expected), "single-row kernel over the padded row");
            }
        }
    }

    [Test]
    public void Padding_stays_zero_after_append_and_removal()
    {
        var random = new Random(4);
        var a = Int8Rows.Quantise(RandomRows(random, 5, 37), 37, 5);
        var b = Int8Rows.Quantise(RandomRows(random, 3, 37), 37, 3);
        var joined = a.Concat(b).Select([7, 0, 3, 6]);
        Assert.That(joined.Count, Is.EqualTo(4));
        Assert.That(joined.Row(0).ToArray(), Is.EqualTo(b.Row(2).ToArray()));
        Assert.That(joined.Row(1).ToArray(), Is.EqualTo(a.Row(0).ToArray()));
        Assert.That(joined.Scales[2], Is.EqualTo(a.Scales[3]));
        for (int i = 0; i < joined.Count; i++)
            Assert.That(joined.PaddedRow(i)[37..].ToArray(), Is.All.EqualTo((sbyte)0), $"row {i} padding");
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(61)]
    [TestCase(1003)]
    public void The_scan_offers_exactly_the_rows_a_scalar_scan_with_the_purpose_mask_would(int count)
    {
        const int dimensions = 45;
        var random = new Random(count);
        var vectors = RandomRows(random, count, dimensions);
        var templates = new List<IndexedTemplate>();
        var masks = new Dictionary<long, BiometricPurpose>();
        for (int i = 0; i < count; i++)
        {
            long pupil = i / 2; // two templates per pupil: distinct-pupil tracking matters
            templates.Add(new IndexedTemplate(i, pupil, BiometricModality.Face, "m", vectors.AsSpan(i * dimensions, dimensions).ToArray()));
            // Runs of equal masks and isolated changes, so full, empty and mixed four-row blocks all occur.
            masks[pupil] = (pupil % 7) switch
            {
                0 or 1 or 2 => BiometricPurpose.Access,
                3 => BiometricPurpose.Attendance,
                4 => BiometricPurpose.None,
                _ => BiometricPurpose.Access | BiometricPurpose.CanteenPayment,
            };
        }
        var partition = IndexPartition.Build(dimensions, templates, p => masks[p]);

        foreach (var purpose in Purposes)
        {
            var query = RandomRows(random, 1, dimensions);
            var top = new TopPupils(8);
            partition.ScanInt8(query, purpose, top);

            var expected = new TopPupils(8);
            var q = new sbyte[dimensions];
            float queryScale = Int8Quantiser.Quantise(query, q);
            for (int i = 0; i < count; i++)
            {
                if ((masks[i / 2] & purpose) == 0)
                    continue;
                int dot = 0;
                var row = partition.Codes.Row(i);
                for (int j = 0; j < dimensions; j++)
                    dot += q[j] * row[j];
                expected.Offer(dot * queryScale * partition.Codes.Scales[i], i / 2, i);
            }

            Assert.That(top.Count, Is.EqualTo(expected.Count), $"{purpose}");
            for (int c = 0; c < top.Count; c++)
            {
                Assert.That(top.PupilAt(c), Is.EqualTo(expected.PupilAt(c)), $"{purpose} candidate {c}");
                Assert.That(top.RowAt(c), Is.EqualTo(expected.RowAt(c)), $"{purpose} candidate {c}");
                Assert.That(top.ScoreAt(c), Is.EqualTo(expected.ScoreAt(c)), $"{purpose} candidate {c}: bit-identical score");
                Assert.That(masks[top.PupilAt(c)] & purpose, Is.Not.EqualTo(BiometricPurpose.None), "a row without the purpose is never offered");
            }
        }
    }

    [Test]
    public void Int8_search_gives_the_same_top_k_as_exact_float_search_on_benchmark_style_data()
    {
        // As the index benchmark: Gaussian unit vectors, 192-D, one template per pupil, queries
        // are re-captures (identity + equal-size noise, cosine about 0.7).
        const int dimensions = 192;
        const int count = 5_003; // not a multiple of four: the tail rows go through the single-row path
        var random = new Random(11);
        var basis = new float[count * dimensions];
        for (int i = 0; i < basis.Length; i++)
            basis[i] = Gaussian(random);
        var templates = new IndexedTemplate[count];
        for (int i = 0; i < count; i++)
        {
            var row = basis.AsSpan(i * dimensions, dimensions);
            TensorPrimitives.Divide(row, TensorPrimitives.Norm(row), row);
            templates[i] = new IndexedTemplate(i, i, BiometricModality.Face, "bench", row.ToArray());
        }
        var index = new EmbeddingIndex(new MatchPolicy { AcceptThreshold = 0.5f, Margin = 0.05f, LookAlikeThreshold = 2f, TopK = 5 });
        index.Load(templates, templates.ToDictionary(t => t.PupilId, _ => BiometricPurpose.Access), []);
        var space = new TemplateSpace(BiometricModality.Face, "bench");

        for (int n = 0; n < 60; n++)
        {
            int identity = n < 4 ? count - 1 - n : random.Next(count); // include the tail rows
            var query = new float[dimensions];
            for (int j = 0; j < dimensions; j++)
                query[j] = Gaussian(random);
            TensorPrimitives.Divide(query, TensorPrimitives.Norm(query), query);
            TensorPrimitives.Add(query, basis.AsSpan(identity * dimensions, dimensions), query);
            TensorPrimitives.Divide(query, TensorPrimitives.Norm(query), query);

            var exact = index.Identify(query, BiometricPurpose.Access, space, SearchPrecision.Float32);
            var int8 = index.Identify(query, BiometricPurpose.Access, space, SearchPrecision.Int8);
            Assert.That(exact.Candidates[0].PupilId, Is.EqualTo(identity), "the float search itself finds the identity");
            Assert.That(int8.Candidates.Select(c => c.PupilId), Is.EqualTo(exact.Candidates.Select(c => c.PupilId)), $"query {n}: same top-5 pupils in the same order");
            Assert.That(int8.Candidates.Select(c => c.Score), Is.EqualTo(exact.Candidates.Select(c => c.Score)).Within(1e-5f), $"query {n}: re-ranked scores are float scores");
        }
    }

    private static float[] RandomRows(Random random, int count, int dimensions)
    {
        var v = new float[count * dimensions];
        for (int i = 0; i < v.Length; i++)
            v[i] = (float)(random.NextDouble() * 2 - 1);
        return v;
    }

    private static float Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
