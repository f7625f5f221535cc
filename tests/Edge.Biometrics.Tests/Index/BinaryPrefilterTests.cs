using System.Numerics.Tensors;
using Kezekshi.Edge.Biometrics.Index;
using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests.Index;

/// <summary>
/// The binary first pass (centred sign codes, Hamming distance) and the two-stage search built on
/// it: the kernels against a bit-by-bit reference, the same top-1 as exact search on face-like data,
/// purpose masks inside the prefilter, and snapshots (revoke, enrol) with the prefilter on.
/// </summary>
[TestFixture, Category("Unit")]
public sealed class BinaryPrefilterTests
{
    private static readonly TemplateSpace Space = new(BiometricModality.Face, "faceres-like");

    /// <summary>The estimate the scan ranks by, computed plainly in double: q'·x' ≈ |q'||x'|cos(π h / D), plus c·x'.</summary>
    private static int ReferenceBucket(ReadOnlySpan<float> row, ReadOnlySpan<float> centre, float queryNorm, int hamming)
    {
        double norm = 0, offset = 0;
        for (int j = 0; j < row.Length; j++)
        {
            double x = row[j] - centre[j];
            norm += x * x;
            offset += centre[j] * x;
        }
        double estimate = (queryNorm * Math.Sqrt(norm) * Math.Cos(Math.PI * hamming / row.Length)) + offset;
        return (int)Math.Clamp((1 - estimate) * BinaryCodes.BucketScale, 0, BinaryCodes.Buckets - 1);
    }

    private static float[][] Split(float[] vectors, int dimensions) =>
        Enumerable.Range(0, vectors.Length / dimensions).Select(i => vectors.AsSpan(i * dimensions, dimensions).ToArray()).ToArray();

    [TestCase(1)]
    [TestCase(7)]
    [TestCase(63)]
    [TestCase(64)]
    [TestCase(65)]
    [TestCase(192)]
    [TestCase(255)]
    [TestCase(256)]
    [TestCase(257)]
    [TestCase(512)]
    [TestCase(1000)]
    [TestCase(1024)]
    [TestCase(1100)]
    [TestCase(4500)]
    public void Codes_and_every_Hamming_kernel_equal_a_bit_by_bit_reference(int dimensions)
    {
        var random = new Random(dimensions);
        const int rows = 37; // not a multiple of anything the kernels group by
        var vectors = new float[rows * dimensions];
        for (int i = 0; i < vectors.Length; i++)
            vectors[i] = (float)((random.NextDouble() * 2) - 1);
        var codes = BinaryCodes.Build(Split(vectors, dimensions), dimensions);
        Assert.That(codes.Words % 4, Is.Zero, "rows are whole AVX2 vectors");
        Assert.That(codes.HeadWords % 4, Is.Zero, "the scanned head is whole AVX2 vectors");
        Assert.That(codes.IsSplit, Is.EqualTo(codes.Words >= BinaryCodes.SplitWords), "codes of 1,024 bits and more are split");
        int headBits = Math.Min(dimensions, codes.HeadWords * 64);

        // The centre is the mean of the rows.
        for (int j = 0; j < dimensions; j += Math.Max(1, dimensions / 17))
        {
            double mean = 0;
            for (int i = 0; i < rows; i++)
                mean += vectors[(i * dimensions) + j];
            Assert.That(codes.Centre[j], Is.EqualTo(mean / rows).Within(1e-5), $"centre[{j}]");
        }

        // Reference bits: component above the centre's; padding bits zero.
        bool Bit(int row, int j) => vectors[(row * dimensions) + j] > codes.Centre[j];
        for (int i = 0; i < rows; i++)
        {
            var wrongBits = new List<int>();
            for (int j = 0; j < codes.Words * 64; j++)
                if (((codes.Row(i)[j >> 6] >> (j & 63)) & 1UL) != (j < dimensions && Bit(i, j) ? 1UL : 0UL))
                    wrongBits.Add(j);
            Assert.That(wrongBits, Is.Empty, $"row {i}: bits that differ from 'component above the centre' (padding must be zero)");
        }

        var query = new float[dimensions];
        for (int j = 0; j < dimensions; j++)
            query[j] = (float)((random.NextDouble() * 2) - 1);
        var code = new ulong[codes.Words];
        BinaryCodes.Encode(query, codes.Centre, code);

        var distances = new ushort[rows];
        var histogram = new int[dimensions + 1];
        var centredQuery = new float[dimensions];
        TensorPrimitives.Subtract(query, codes.Centre, centredQuery);
        float queryNorm = TensorPrimitives.Norm(centredQuery);
        var masks = new byte[rows];
        for (int i = 0; i < rows; i++)
            masks[i] = (byte)(i % 5 == 3 ? BiometricPurpose.Attendance : BiometricPurpose.Access);
        int counted = codes.Distances(code, ref masks[0], (byte)BiometricPurpose.Access, distances, histogram, prefetchBytes: 256);

        int visible = 0;
        var expectedHistogram = new int[dimensions + 1];
        // The pool stage: head distances in, whole distances and estimate buckets out.
        var pool = Enumerable.Range(0, rows).Reverse().ToArray();
        var completed = new ushort[rows];
        for (int p = 0; p < rows; p++)
            completed[p] = (ushort)BinaryCodes.Hamming(code.AsSpan(0, codes.HeadWords), codes.Head(pool[p]));
        var poolBuckets = new ushort[rows];
        var poolCounts = new int[BinaryCodes.Buckets];
        codes.EstimatePool(code, queryNorm, pool, completed, poolBuckets, poolCounts);
        Assert.That(poolCounts.Sum(), Is.EqualTo(rows), "every pool row counted once");
        for (int i = 0; i < rows; i++)
        {
            int expected = 0, expectedHead = 0;
            for (int j = 0; j < dimensions; j++)
                if ((query[j] > codes.Centre[j]) != Bit(i, j))
                {
                    expected++;
                    if (j < headBits)
                        expectedHead++;
                }
            Assert.That(codes.DistanceTo(code, i), Is.EqualTo(expected), $"row {i}: head + tail distance");
            Assert.That(completed[rows - 1 - i], Is.EqualTo(expected), $"row {i}: the head distance completed by the tail kernel");
            Assert.That(poolBuckets[rows - 1 - i], Is.EqualTo(codes.Bucket(queryNorm, i, expected)), $"row {i}: the pool estimate is that of the whole distance");
            Assert.That(BinaryCodes.Hamming(code, codes.Row(i)), Is.EqualTo(expected), $"row {i}: Hamming");
            Assert.That(BinaryCodes.HammingPopCount(ref code[0], ref System.Runtime.InteropServices.MemoryMarshal.GetReference(codes.Row(i)), codes.Words), Is.EqualTo(expected), $"row {i}: popcnt kernel");
            Assert.That(BinaryCodes.Distance(ref code[0], ref System.Runtime.InteropServices.MemoryMarshal.GetReference(codes.Row(i)), codes.Words), Is.EqualTo(expected), $"row {i}: scan kernel");
            if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
                Assert.That(BinaryCodes.HammingAvx2(ref code[0], ref System.Runtime.InteropServices.MemoryMarshal.GetReference(codes.Row(i)), codes.Words), Is.EqualTo(expected), $"row {i}: AVX2 kernel");
            Assert.That(codes.Bucket(queryNorm, i, expected), Is.EqualTo(ReferenceBucket(vectors.AsSpan(i * dimensions, dimensions), codes.Centre, queryNorm, expected)).Within(1), $"row {i}: estimate against a plain double computation");
            if (masks[i] == (byte)BiometricPurpose.Access)
            {
                Assert.That(distances[i], Is.EqualTo(expectedHead), $"row {i}: the scan's distance (of the head: the whole code unless split)");
                expectedHistogram[expectedHead]++;
                visible++;
            }
            else
            {
                Assert.That(distances[i], Is.EqualTo(ushort.MaxValue), $"row {i}: a row without the purpose is never scored");
            }
        }
        Assert.That(counted, Is.EqualTo(visible));
        Assert.That(histogram, Is.EqualTo(expectedHistogram));
    }

    [TestCase(8, 1024)]
    [TestCase(1003, 1024)]
    [TestCase(1003, 512)]
    [TestCase(517, 192)]
    [TestCase(300, 1100)]
    [TestCase(1003, 1100)]
    public void The_eight_row_scan_gives_every_row_the_reference_distance_whatever_the_masks(int rows, int dimensions)
    {
        // Runs of full, empty and mixed eight-row blocks, and a tail that is not a multiple of eight.
        var random = new Random(rows + dimensions);
        var vectors = new float[rows * dimensions];
        for (int i = 0; i < vectors.Length; i++)
            vectors[i] = (float)((random.NextDouble() * 2) - 1);
        var codes = BinaryCodes.Build(Split(vectors, dimensions), dimensions);
        var query = new float[dimensions];
        for (int j = 0; j < dimensions; j++)
            query[j] = (float)((random.NextDouble() * 2) - 1);
        var code = new ulong[codes.Words];
        BinaryCodes.Encode(query, codes.Centre, code);
        var masks = new byte[rows];
        for (int i = 0; i < rows; i++)
            masks[i] = (byte)((i / 8 % 4) switch
            {
                0 => BiometricPurpose.Access | BiometricPurpose.Attendance,
                1 => BiometricPurpose.Attendance,
                2 => i % 3 == 0 ? BiometricPurpose.None : BiometricPurpose.Access,
                _ => BiometricPurpose.Access,
            });
        // Both kernels where the machine has AVX-512 (a 512-bit code or head takes it), else the AVX2 one twice.
        foreach (bool vector512 in new[] { true, false })
        foreach (var purpose in new[] { BiometricPurpose.Access, BiometricPurpose.Attendance, BiometricPurpose.Library })
        {
            var distances = new ushort[rows];
            var histogram = new int[dimensions + 1];
            int counted = codes.DistancesUsing(code, ref masks[0], (byte)purpose, distances, histogram, prefetchBytes: 6 * 1024, vector512);
            var expectedHistogram = new int[dimensions + 1];
            int visible = 0;
            for (int i = 0; i < rows; i++)
            {
                if ((masks[i] & (byte)purpose) == 0)
                {
                    Assert.That(distances[i], Is.EqualTo(ushort.MaxValue), $"{(vector512 ? "AVX-512" : "AVX2")} {purpose} row {i}: never scored");
                    continue;
                }
                // The scan reads the head: the whole code unless it is split.
                int expected = BinaryCodes.HammingPopCount(ref code[0], ref System.Runtime.InteropServices.MemoryMarshal.GetReference(codes.Head(i)), codes.HeadWords);
                Assert.That(distances[i], Is.EqualTo(expected), $"{(vector512 ? "AVX-512" : "AVX2")} {purpose} row {i}");
                expectedHistogram[expected]++;
                visible++;
            }
            Assert.That(counted, Is.EqualTo(visible), $"{(vector512 ? "AVX-512" : "AVX2")} {purpose}: rows counted");
            Assert.That(histogram, Is.EqualTo(expectedHistogram), $"{(vector512 ? "AVX-512" : "AVX2")} {purpose}: histogram");
        }
    }

    [TestCase(5_000, 64, 1024)]
    [TestCase(5_000, 600, 1024)]
    [TestCase(3_000, 512, 512)]
    [TestCase(1_500, 32, 1024)]
    [TestCase(400, 512, 1024)]
    [TestCase(9_000, 256, 1024)]
    [TestCase(6_000, 100, 1100)]
    public void The_candidates_are_those_a_plain_two_step_reference_picks(int count, int candidates, int dimensions)
    {
        // The reference: every row with the purpose scored by the scalar popcount; the pool is the
        // max(4 × candidates, 2048) smallest distances (ties in row order) — for a split code
        // (1,024-D and up) twice as many by the distance of the head words alone — and the
        // candidates the smallest estimates from the whole distance within the pool (ties in row order).
        var gallery = new FaceLikeGallery(dimensions, seed: count + candidates);
        var templates = new List<IndexedTemplate>();
        var masks = new Dictionary<long, BiometricPurpose>();
        for (int i = 0; i < count; i++)
        {
            templates.Add(new IndexedTemplate(i, i, Space.Modality, Space.ModelId, gallery.Capture(i, 0)));
            masks[i] = i % 13 == 5 ? BiometricPurpose.Attendance : BiometricPurpose.Access;
        }
        var partition = IndexPartition.Build(dimensions, templates, p => masks[p]);
        var binary = partition.Binary;
        var random = new Random(count);
        for (int q = 0; q < 5; q++)
        {
            var query = gallery.Capture(random.Next(count), 1 + q);
            var chosen = new int[candidates];
            int n = partition.ChooseCandidates(query, BiometricPurpose.Access, candidates, chosen);

            var code = new ulong[binary.Words];
            BinaryCodes.Encode(query, binary.Centre, code);
            var centred = new float[dimensions];
            TensorPrimitives.Subtract(query, binary.Centre, centred);
            float queryNorm = TensorPrimitives.Norm(centred);
            var visible = Enumerable.Range(0, count).Where(i => masks[i] == BiometricPurpose.Access).ToList();
            var distance = visible.ToDictionary(i => i, i => BinaryCodes.HammingPopCount(ref code[0], ref System.Runtime.InteropServices.MemoryMarshal.GetReference(binary.Row(i)), binary.Words));
            var headDistance = visible.ToDictionary(i => i, i => BinaryCodes.HammingPopCount(ref code[0], ref System.Runtime.InteropServices.MemoryMarshal.GetReference(binary.Row(i)), binary.HeadWords));
            Assert.That(binary.IsSplit, Is.EqualTo(dimensions >= 1024));
            int poolSize = Math.Min(visible.Count, Math.Max(IndexPartition.MinNearest, IndexPartition.NearestFactor * candidates) * (binary.IsSplit ? IndexPartition.HeadPoolFactor : 1));
            var pool = visible.OrderBy(i => headDistance[i]).ThenBy(i => i).Take(poolSize).ToList();
            var expected = pool.OrderBy(i => binary.Bucket(queryNorm, i, distance[i])).ThenBy(i => i).Take(Math.Min(candidates, visible.Count)).Order().ToList();

            Assert.That(chosen.Take(n), Is.EqualTo(expected), $"query {q}: the chosen rows, in row order");
            Assert.That(chosen.Take(n).All(i => masks[i] == BiometricPurpose.Access), "a row without the purpose is never a candidate");
        }
    }

    [TestCase(50_000, 4096, 513, 1)]
    [TestCase(50_000, 2048, 40, 2)]
    [TestCase(4_096, 512, 4096, 3)]
    [TestCase(1_003, 1003, 7, 4)]
    [TestCase(13, 5, 3, 5)]
    public void The_smallest_keys_are_chosen_in_position_order_with_ties_at_the_cut_off_in_position_order(int count, int wanted, int range, int seed)
    {
        // Few distinct keys (range 3, 7, 40) make big ties at the cut-off; a tenth of the keys are
        // ushort.MaxValue (no purpose), never counted and never chosen.
        var random = new Random(seed);
        var keys = new ushort[count];
        var histogram = new int[range];
        for (int i = 0; i < count; i++)
        {
            keys[i] = random.Next(10) == 0 ? ushort.MaxValue : (ushort)random.Next(range);
            if (keys[i] != ushort.MaxValue)
                histogram[keys[i]]++;
        }
        int visible = histogram.Sum();
        wanted = Math.Min(wanted, visible);
        var expected = Enumerable.Range(0, count).Where(i => keys[i] != ushort.MaxValue)
            .OrderBy(i => keys[i]).ThenBy(i => i).Take(wanted).Order().ToArray();
        foreach (bool packed in new[] { true, false })
        {
            var output = new int[wanted];
            int n = IndexPartition.SelectSmallest(keys, histogram, wanted, output, packed);
            Assert.That(output.Take(n), Is.EqualTo(expected), packed ? "the packed (AVX2) version" : "the branchy version");
        }
        Assert.That(() => IndexPartition.SelectSmallest(keys, histogram, wanted, new int[Math.Max(0, wanted - 1)]), Throws.ArgumentException, "too little room is refused, not overrun");
    }

    [Test]
    public void Unequal_code_lengths_are_refused()
    {
        Assert.That(() => BinaryCodes.Hamming(new ulong[4], new ulong[8]), Throws.ArgumentException.With.Message.Contains("cannot be compared"));
        Assert.That(() => BinaryCodes.Encode(new float[10], new float[12], new ulong[4]), Throws.ArgumentException);
    }

    [Test]
    public void Two_stage_search_returns_the_same_top_1_as_exact_search_on_face_like_data()
    {
        // 1024-D like faceres, with its structure: a large shared mean direction, low-rank
        // differences between people, and within-person variation. Candidate count 32 of 6,000
        // rows is a smaller fraction (0.5 %) than the default 256 of 50,000.
        var gallery = new FaceLikeGallery(1024, seed: 3);
        const int count = 6_000;
        var templates = Enumerable.Range(0, count).Select(i => new IndexedTemplate(i, i, Space.Modality, Space.ModelId, gallery.Capture(i, 0))).ToList();

        var (genuine, impostor) = gallery.Cosines(30);
        Assert.That(impostor, Is.InRange(0.3, 0.5), "impostor cosines like faceres on ORL (mean 0.40), not near zero like isotropic vectors");
        Assert.That(genuine, Is.InRange(0.75, 0.92), "genuine cosines like faceres on ORL (mean 0.84)");

        var index = new EmbeddingIndex(new MatchPolicy { AcceptThreshold = 0.7f, Margin = 0.05f, LookAlikeThreshold = 2f, BinaryCandidates = 32 });
        index.Load(templates, templates.ToDictionary(t => t.PupilId, _ => BiometricPurpose.Access), []);
        var random = new Random(4);
        int accepted = 0;
        for (int q = 0; q < 150; q++)
        {
            int identity = random.Next(count);
            var query = gallery.Capture(identity, 1 + q);
            var exact = index.Identify(query, BiometricPurpose.Access, Space, SearchPrecision.Float32);
            var twoStage = index.Identify(query, BiometricPurpose.Access, Space, SearchPrecision.Binary);
            Assert.That(twoStage.Candidates[0].PupilId, Is.EqualTo(exact.Candidates[0].PupilId), $"query {q}: same best pupil");
            Assert.That(twoStage.BestScore, Is.EqualTo(exact.BestScore).Within(1e-5f), $"query {q}: the decision uses float scores");
            Assert.That(twoStage.Outcome, Is.EqualTo(exact.Outcome), $"query {q}: same decision ({exact.Reason} / {twoStage.Reason})");
            if (twoStage.IsAccepted)
                accepted++;
        }
        Assert.That(accepted, Is.GreaterThan(100), "most re-captures are accepted, so the comparison covers the accept path");
    }

    [Test]
    public void The_prefilter_never_returns_a_template_without_the_purpose_even_when_it_is_the_nearest()
    {
        var gallery = new FaceLikeGallery(512, seed: 5);
        var templates = Enumerable.Range(0, 2_000).Select(i => new IndexedTemplate(i, i, Space.Modality, Space.ModelId, gallery.Capture(i, 0))).ToList();
        // Pupil 9999 has 40 templates, each nearer to the query than anyone else, and consent for Attendance only.
        var query = gallery.Capture(7, 1);
        for (int k = 0; k < 40; k++)
            templates.Add(new IndexedTemplate(10_000 + k, 9_999, Space.Modality, Space.ModelId, TestVectors.Near(query, new Random(k), 0.05f)));
        var masks = templates.Select(t => t.PupilId).Distinct().ToDictionary(p => p, _ => BiometricPurpose.Access);
        masks[9_999] = BiometricPurpose.Attendance;
        // On, with fewer candidates than the hidden pupil has templates: hidden rows must not take the places.
        var index = new EmbeddingIndex(new MatchPolicy { AcceptThreshold = 0.7f, Margin = 0.05f, LookAlikeThreshold = 2f, BinaryPrefilter = BinaryPrefilterMode.On, BinaryCandidates = 8 });
        index.Load(templates, masks, []);

        var forAccess = index.Identify(query, BiometricPurpose.Access, Space);
        Assert.That(forAccess.Candidates.Select(c => c.PupilId), Has.None.EqualTo(9_999L), "hidden by purpose");
        Assert.That(forAccess.Candidates[0].PupilId, Is.EqualTo(7), "the nearest pupil WITH the purpose is still found");
        Assert.That(forAccess.Candidates, Has.Count.EqualTo(index.Policy.TopK), "the candidate places went to visible pupils");

        var forAttendance = index.Identify(query, BiometricPurpose.Attendance, Space);
        Assert.That(forAttendance.Candidates.Select(c => c.PupilId), Is.EqualTo(new[] { 9_999L }), "only the pupil with Attendance consent");
        Assert.That(index.Identify(query, BiometricPurpose.Library, Space).Reason, Does.Contain("nobody is enrolled with consent for Library"));
    }

    [Test]
    public void Revoke_enrol_and_consent_changes_take_effect_with_the_prefilter_on()
    {
        var gallery = new FaceLikeGallery(1024, seed: 6);
        var index = new EmbeddingIndex(new MatchPolicy { AcceptThreshold = 0.7f, Margin = 0.05f, LookAlikeThreshold = 2f, BinaryPrefilter = BinaryPrefilterMode.On, BinaryCandidates = 16 });
        var templates = Enumerable.Range(1, 1_500).Select(i => new IndexedTemplate(i, i, Space.Modality, Space.ModelId, gallery.Capture(i, 0))).ToList();
        index.Load(templates, templates.ToDictionary(t => t.PupilId, _ => BiometricPurpose.Access), []);
        var centreBefore = index.PartitionOf(Space)!.Binary.Centre;

        var query = gallery.Capture(42, 1);
        Assert.That(index.Identify(query, BiometricPurpose.Access, Space).PupilId, Is.EqualTo(42));

        index.SetPurposes(42, BiometricPurpose.Attendance);
        Assert.That(index.Identify(query, BiometricPurpose.Access, Space).Candidates.Select(c => c.PupilId), Has.None.EqualTo(42L), "consent narrowed");
        Assert.That(index.PartitionOf(Space)!.Binary.Centre, Is.SameAs(centreBefore), "a mask change shares the codes");
        index.SetPurposes(42, BiometricPurpose.Access);

        Assert.That(index.RemovePupil(42), Is.EqualTo(1));
        var afterRevoke = index.Identify(query, BiometricPurpose.Access, Space);
        Assert.That(afterRevoke.Candidates.Select(c => c.PupilId), Has.None.EqualTo(42L), "revoked: never returned again");
        Assert.That(afterRevoke.Outcome, Is.Not.EqualTo(IdentifyOutcome.Accepted));

        // Enrol 200 new pupils: the centre is recomputed and their codes made against it.
        var added = Enumerable.Range(5_000, 200).Select(i => new IndexedTemplate(i, i, Space.Modality, Space.ModelId, gallery.Capture(i, 0))).ToList();
        index.Add(added);
        foreach (var t in added)
            index.SetPurposes(t.PupilId, BiometricPurpose.Access);
        var partition = index.PartitionOf(Space)!;
        Assert.That(partition.Binary.Count, Is.EqualTo(partition.Count));
        var expectedCentre = new float[1024];
        for (int i = 0; i < partition.Count; i++)
            TensorPrimitives.Add(expectedCentre, partition.Row(i), expectedCentre);
        TensorPrimitives.Divide(expectedCentre, partition.Count, expectedCentre);
        Assert.That(partition.Binary.Centre, Is.EqualTo(expectedCentre).Within(1e-5f), "the centre is the mean of the new snapshot's rows");
        foreach (int pupil in new[] { 5_000, 5_123, 5_199, 7, 1_500 })
        {
            var decision = index.Identify(gallery.Capture(pupil, 3), BiometricPurpose.Access, Space);
            Assert.That(decision.PupilId, Is.EqualTo(pupil), decision.Reason);
        }
    }

    [Test]
    public void Searches_with_the_prefilter_during_enrolment_and_deletion_always_see_a_whole_snapshot()
    {
        var gallery = new FaceLikeGallery(512, seed: 8);
        var index = new EmbeddingIndex(new MatchPolicy { AcceptThreshold = 0.7f, Margin = 0.05f, LookAlikeThreshold = 2f, BinaryPrefilter = BinaryPrefilterMode.On, BinaryCandidates = 8 });
        var templates = Enumerable.Range(1, 300).Select(i => new IndexedTemplate(i, i, Space.Modality, Space.ModelId, gallery.Capture(i, 0))).ToList();
        index.Load(templates, templates.ToDictionary(t => t.PupilId, _ => BiometricPurpose.Access), []);
        var query = gallery.Capture(10, 1);
        Assert.That(index.Identify(query, BiometricPurpose.Access, Space).PupilId, Is.EqualTo(10));
        var extra = Enumerable.Range(1_000, 150).Select(i => new IndexedTemplate(i, i, Space.Modality, Space.ModelId, gallery.Capture(i, 0))).ToList();
        var (wrong, searches) = ConcurrentSwap.Run(index, () => index.Identify(query, BiometricPurpose.Access, Space).PupilId, 10, extra);
        Assert.That(wrong, Is.Zero);
        Assert.That(searches, Is.GreaterThan(0));
        Assert.That(index.Count, Is.EqualTo(300));
    }

    [Test]
    public void Two_pupils_within_the_margin_give_unknown_through_the_prefilter()
    {
        var gallery = new FaceLikeGallery(1024, seed: 9);
        var templates = Enumerable.Range(1, 500).Select(i => new IndexedTemplate(i, i, Space.Modality, Space.ModelId, gallery.Capture(i, 0))).ToList();
        // Pupil 1000: a second pupil almost on top of pupil 3 (below the look-alike threshold, within the margin).
        templates.Add(new IndexedTemplate(1_000, 1_000, Space.Modality, Space.ModelId, TestVectors.Near(templates[2].Vector, new Random(1), 0.08f)));
        var index = new EmbeddingIndex(new MatchPolicy { AcceptThreshold = 0.7f, Margin = 0.05f, LookAlikeThreshold = 2f, BinaryPrefilter = BinaryPrefilterMode.On, BinaryCandidates = 8 });
        index.Load(templates, templates.ToDictionary(t => t.PupilId, _ => BiometricPurpose.Access), []);

        var decision = index.Identify(templates[2].Vector, BiometricPurpose.Access, Space);
        Assert.That(decision.Outcome, Is.EqualTo(IdentifyOutcome.Unknown));
        Assert.That(decision.Reason, Does.Contain("within the margin"));
        Assert.That(decision.Candidates.Take(2).Select(c => c.PupilId), Is.EquivalentTo(new[] { 3L, 1_000L }), "the runner-up comes from the re-ranked candidates");
        var exact = index.Identify(templates[2].Vector, BiometricPurpose.Access, Space, SearchPrecision.Float32);
        Assert.That(decision.RunnerUpScore, Is.EqualTo(exact.RunnerUpScore).Within(1e-5f), "the runner-up's float score, as exact search gives it");
    }

    [Test]
    public void Auto_uses_the_prefilter_only_for_large_high_dimensional_spaces()
    {
        var auto = new MatchPolicy();
        Assert.That(auto.BinaryPrefilter, Is.EqualTo(BinaryPrefilterMode.Auto));
        Assert.That(auto.PrecisionFor(1024, 50_000), Is.EqualTo(SearchPrecision.Binary));
        Assert.That(auto.PrecisionFor(512, 10_000), Is.EqualTo(SearchPrecision.Binary));
        Assert.That(auto.PrecisionFor(192, 1_000_000), Is.EqualTo(SearchPrecision.Int8), "low dimensions: the full int8 scan");
        Assert.That(auto.PrecisionFor(1024, 9_999), Is.EqualTo(SearchPrecision.Int8), "small galleries: the full int8 scan");
        Assert.That(auto.PrecisionFor(511, 50_000), Is.EqualTo(SearchPrecision.Int8));
        Assert.That((auto with { BinaryPrefilter = BinaryPrefilterMode.On }).PrecisionFor(16, 3), Is.EqualTo(SearchPrecision.Binary));
        Assert.That((auto with { BinaryPrefilter = BinaryPrefilterMode.Off }).PrecisionFor(4096, 1_000_000), Is.EqualTo(SearchPrecision.Int8));
        Assert.That(() => new EmbeddingIndex(auto with { BinaryCandidates = 1 }), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("Biometrics:Match:BinaryCandidates"));
        Assert.That(() => new EmbeddingIndex(auto with { BinaryPrefilter = (BinaryPrefilterMode)7 }), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("Auto, On or Off"));
    }

    /// <summary>
    /// Seeded vectors with the structure of faceres embeddings (not isotropic): a shared mean
    /// direction carrying about 40 % of the energy (so strangers score about 0.4, as faceres on
    /// ORL), identities spread over a 40-dimensional subspace with decaying variances, and
    /// within-person variation in another low-rank subspace plus a noise floor.
    /// </summary>
    private sealed class FaceLikeGallery
    {
        private const int Rank = 40;
        private readonly int _dimensions;
        private readonly int _seed;
        private readonly float[] _mean;
        private readonly float[][] _between;
        private readonly float[][] _within;

        public FaceLikeGallery(int dimensions, int seed)
        {
            _dimensions = dimensions;
            _seed = seed;
            var random = new Random(seed);
            _mean = TestVectors.Unit(random, dimensions);
            TensorPrimitives.Multiply(_mean, MathF.Sqrt(0.40f), _mean);
            // Energy shares: identity low-rank 0.30 + floor 0.14; capture low-rank 0.10 + floor 0.06.
            _between = Basis(random, 0.30f);
            _within = Basis(random, 0.10f);
        }

        private float[][] Basis(Random random, float energy)
        {
            double total = Enumerable.Range(1, Rank).Sum(k => 1.0 / k);
            return [.. Enumerable.Range(1, Rank).Select(k =>
            {
                var v = TestVectors.Unit(random, _dimensions);
                TensorPrimitives.Multiply(v, (float)Math.Sqrt(energy / k / total), v);
                return v;
            })];
        }

        public float[] Capture(int identity, int capture)
        {
            var v = (float[])_mean.Clone();
            Add(v, _between, new Random(unchecked((_seed * 7_919) + identity)), 0.14f);
            Add(v, _within, new Random(unchecked((((_seed * 7_919) + identity) * 104_729) + capture)), 0.06f);
            TestVectors.Normalise(v);
            return v;
        }

        private void Add(float[] v, float[][] basis, Random random, float floorEnergy)
        {
            foreach (var direction in basis)
                TensorPrimitives.MultiplyAdd(direction, Gaussian(random), v, v);
            float sigma = MathF.Sqrt(floorEnergy / _dimensions);
            for (int j = 0; j < v.Length; j++)
                v[j] += sigma * Gaussian(random);
        }

        /// <summary>Mean genuine and impostor cosines over <paramref name="people"/> × 4 captures.</summary>
        public (double Genuine, double Impostor) Cosines(int people)
        {
            var set = Enumerable.Range(0, people).SelectMany(p => Enumerable.Range(0, 4).Select(c => (p, Capture(100_000 + p, c)))).ToList();
            double genuine = 0, impostor = 0;
            int g = 0, i = 0;
            for (int a = 0; a < set.Count; a++)
                for (int b = a + 1; b < set.Count; b++)
                {
                    double s = TensorPrimitives.Dot(set[a].Item2, set[b].Item2);
                    if (set[a].p == set[b].p) { genuine += s; g++; }
                    else { impostor += s; i++; }
                }
            return (genuine / g, impostor / i);
        }

        private static float Gaussian(Random random)
        {
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
    }
}
