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

    [TestCase(45, 1)]
    [TestCase(192, 7)]
    [TestCase(1024, 513)]
    public void Scattered_candidates_get_the_same_scores_as_the_single_row_path(int dimensions, int candidates)
    {
        // The binary path scores its scattered candidates four at a time (Dot4Rows); each offered
        // score must be the single-row score bit for bit, whatever the candidate count mod 4.
        var random = new Random(dimensions + candidates);
        const int count = 1_200;
        var vectors = RandomRows(random, count, dimensions);
        var templates = Enumerable.Range(0, count).Select(i => new IndexedTemplate(i, i / 3, BiometricModality.Face, "m", vectors.AsSpan(i * dimensions, dimensions).ToArray())).ToList();
        var partition = IndexPartition.Build(dimensions, templates, _ => BiometricPurpose.Access);
        var rows = Enumerable.Range(0, count).OrderBy(_ => random.Next()).Take(candidates).Order().ToArray();
        var query = RandomRows(random, 1, dimensions);

        var top = new TopPupils(64);
        partition.ScoreCandidates(query, rows, top);

        var expected = new TopPupils(64);
        var q = new sbyte[partition.Codes.Stride];
        float queryScale = Int8Quantiser.Quantise(query, q.AsSpan(0, dimensions));
        foreach (int row in rows)
            expected.Offer(Int8Quantiser.Dot(q, partition.Codes.PaddedRow(row)) * queryScale * partition.Codes.Scales[row], row / 3, row);
        Assert.That(top.Count, Is.EqualTo(expected.Count));
        for (int c = 0; c < top.Count; c++)
        {
            Assert.That(top.RowAt(c), Is.EqualTo(expected.RowAt(c)), $"candidate {c}: row");
            Assert.That(top.ScoreAt(c), Is.EqualTo(expected.ScoreAt(c)), $"candidate {c}: bit-identical score");
        }

        // And the kernel itself against the scalar sums, for rows far apart and in any order.
        var magnitude = new byte[q.Length];
        Int8Quantiser.Magnitudes(q, magnitude);
        int a = rows[^1], b = rows[0], c2 = count - 1, d = count / 2;
        var dots = Int8Quantiser.Dot4Rows(ref q[0], ref magnitude[0], ref partition.Codes.RowReference(a), ref partition.Codes.RowReference(b), ref partition.Codes.RowReference(c2), ref partition.Codes.RowReference(d), partition.Codes.Stride);
        int[] which = [a, b, c2, d];
        for (int k = 0; k < 4; k++)
            Assert.That(dots.GetElement(k), Is.EqualTo(Int8Quantiser.Dot(q, partition.Codes.PaddedRow(which[k]))), $"kernel lane {k}");
    }

    [TestCase(1, 1024)]
    [TestCase(255, 64)]
    [TestCase(2_600, 1024)]
    [TestCase(3_001, 192)]
    public void A_build_on_every_core_equals_a_build_on_one_core_bit_for_bit(int count, int dimensions)
    {
        var random = new Random(count);
        var vectors = RandomRows(random, count, dimensions);
        var templates = Enumerable.Range(0, count).Select(i => new IndexedTemplate(i, i / 2, BiometricModality.Face, "m", vectors.AsSpan(i * dimensions, dimensions).ToArray())).ToList();
        var masks = new Func<long, BiometricPurpose>(p => p % 3 == 0 ? BiometricPurpose.Access : BiometricPurpose.Attendance);
        var one = IndexPartition.Build(dimensions, templates, masks, parallelism: 1);
        var all = IndexPartition.Build(dimensions, templates, masks);
        var two = IndexPartition.Build(dimensions, templates, masks, parallelism: 2);

        foreach (var (other, name) in new[] { (all, "all cores"), (two, "two cores") })
        {
            Assert.That(other.Rows, Is.EqualTo(one.Rows), $"{name}: float rows");
            Assert.That(other.PupilIds, Is.EqualTo(one.PupilIds), $"{name}: owners");
            Assert.That(other.TemplateIds, Is.EqualTo(one.TemplateIds), $"{name}: ids");
            Assert.That(other.Purposes, Is.EqualTo(one.Purposes), $"{name}: masks");
            Assert.That(other.Codes.Scales, Is.EqualTo(one.Codes.Scales), $"{name}: int8 scales");
            Assert.That(other.Binary.Centre, Is.EqualTo(one.Binary.Centre), $"{name}: centre, bit for bit");
            Assert.That(other.Binary.Shapes, Is.EqualTo(one.Binary.Shapes), $"{name}: norms and offsets");
            for (int i = 0; i < count; i++)
            {
                Assert.That(other.Codes.PaddedRow(i).ToArray(), Is.EqualTo(one.Codes.PaddedRow(i).ToArray()), $"{name}: int8 row {i} with its padding");
                Assert.That(other.Binary.Row(i).ToArray(), Is.EqualTo(one.Binary.Row(i).ToArray()), $"{name}: binary row {i}");
            }
        }
        // The fused build makes the same codes as building them on their own from the float rows.
        var alone = BinaryCodes.Build(one.Rows, dimensions, parallelism: 1);
        Assert.That(alone.Centre, Is.EqualTo(one.Binary.Centre), "centre from BinaryCodes.Build");
        Assert.That(BinaryCodes.Build(one.Rows, dimensions).Shapes, Is.EqualTo(one.Binary.Shapes), "norms and offsets from a parallel BinaryCodes.Build");
        for (int i = 0; i < count; i++)
            Assert.That(alone.Row(i).ToArray(), Is.EqualTo(one.Binary.Row(i).ToArray()), $"binary row {i} from BinaryCodes.Build");
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
