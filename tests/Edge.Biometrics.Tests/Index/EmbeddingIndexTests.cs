using Kezekshi.Edge.Biometrics.Index;
using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests.Index;

[TestFixture, Category("Unit")]
public sealed class EmbeddingIndexTests
{
    private static readonly TemplateSpace Face = new(BiometricModality.Face, "test-model");
    private const BiometricPurpose AllPurposes = BiometricPurpose.Access | BiometricPurpose.Attendance | BiometricPurpose.Safety;

    private static (EmbeddingIndex Index, Dictionary<long, float[]> People) Enrolled(int pupils, int dimensions = 64, int seed = 1)
    {
        var random = new Random(seed);
        var index = new EmbeddingIndex();
        var people = new Dictionary<long, float[]>();
        var templates = new List<IndexedTemplate>();
        long templateId = 1;
        for (long pupil = 1; pupil <= pupils; pupil++)
        {
            people[pupil] = TestVectors.Unit(random, dimensions);
            for (int k = 0; k < 3; k++)
                templates.Add(new IndexedTemplate(templateId++, pupil, BiometricModality.Face, Face.ModelId, TestVectors.Near(people[pupil], random, 0.3f)));
        }
        index.Load(templates, people.Keys.ToDictionary(p => p, _ => AllPurposes), []);
        return (index, people);
    }

    [Test]
    public void The_re_rank_map_of_every_published_snapshot_is_built_before_any_search()
    {
        // Built by the writer (load, enrol, remove), so the first gate search after a change does not pay for it.
        var (index, people) = Enrolled(50);
        Assert.That(index.PartitionOf(Face)!.HasRowsByPupil, Is.True, "after a load");
        var random = new Random(3);
        index.Add([new IndexedTemplate(9_001, 51, BiometricModality.Face, Face.ModelId, TestVectors.Unit(random, 64))]);
        Assert.That(index.PartitionOf(Face)!.HasRowsByPupil, Is.True, "after an enrolment");
        index.RemovePupil(7);
        Assert.That(index.PartitionOf(Face)!.HasRowsByPupil, Is.True, "after a removal");
        Assert.That(index.PartitionOf(Face)!.RowsByPupil.ContainsKey(51), Is.True, "and it is the new snapshot's map");
        Assert.That(index.PartitionOf(Face)!.RowsByPupil.ContainsKey(7), Is.False);
        Assert.That(people, Has.Count.EqualTo(50));
    }

    [Test]
    public void Warming_up_searches_every_space_with_a_query_of_its_own_dimensions_and_changes_nothing()
    {
        var palm = new TemplateSpace(BiometricModality.Palm, "palm-model");
        var random = new Random(5);
        var index = new EmbeddingIndex();
        index.WarmUp(); // empty: nothing to do
        var templates = new List<IndexedTemplate>();
        for (long pupil = 1; pupil <= 20; pupil++)
        {
            templates.Add(new IndexedTemplate(pupil, pupil, BiometricModality.Face, Face.ModelId, TestVectors.Unit(random, 192)));
            templates.Add(new IndexedTemplate(100 + pupil, pupil, BiometricModality.Palm, palm.ModelId, TestVectors.Unit(random, 1024)));
        }
        index.Load(templates, templates.Select(t => t.PupilId).Distinct().ToDictionary(p => p, _ => AllPurposes), []);
        var probe = TestVectors.Near(templates[0].Vector, random, 0.2f);
        var before = index.Identify(probe, BiometricPurpose.Access, Face);

        index.WarmUp(searches: 3); // a 192-D query for the face space and a 1024-D one for the palm space, or Identify throws

        Assert.That(index.Count, Is.EqualTo(40));
        var after = index.Identify(probe, BiometricPurpose.Access, Face);
        Assert.That((after.Outcome, after.PupilId), Is.EqualTo((before.Outcome, before.PupilId)), "nothing about the index changed");
    }

    [TestCase(SearchPrecision.Float32)]
    [TestCase(SearchPrecision.Int8)]
    public void A_recapture_of_an_enrolled_pupil_is_accepted_as_that_pupil(SearchPrecision precision)
    {
        var (index, people) = Enrolled(200);
        var random = new Random(7);
        foreach (long pupil in new long[] { 1, 57, 200 })
        {
            var decision = index.Identify(TestVectors.Near(people[pupil], random, 0.3f), BiometricPurpose.Access, Face, precision);
            Assert.That(decision.Outcome, Is.EqualTo(IdentifyOutcome.Accepted), decision.Reason);
            Assert.That(decision.PupilId, Is.EqualTo(pupil));
            Assert.That(decision.Candidates.Select(c => c.PupilId), Is.Unique, "candidates are distinct pupils");
        }
    }

    [Test]
    public void A_stranger_is_unknown()
    {
        var (index, _) = Enrolled(200);
        var decision = index.Identify(TestVectors.Unit(new Random(99), 64), BiometricPurpose.Access, Face);
        Assert.That(decision.Outcome, Is.EqualTo(IdentifyOutcome.Unknown));
        Assert.That(decision.PupilId, Is.Null);
        Assert.That(decision.Reason, Does.Contain("below the threshold"));
    }

    [Test]
    public void Int8_search_finds_the_same_best_pupil_as_exact_float_search()
    {
        var (index, people) = Enrolled(300, dimensions: 128);
        var random = new Random(3);
        for (int q = 0; q < 100; q++)
        {
            var query = TestVectors.Near(people[random.Next(1, 301)], random, 0.6f);
            var exact = index.Identify(query, BiometricPurpose.Access, Face, SearchPrecision.Float32);
            var quantised = index.Identify(query, BiometricPurpose.Access, Face, SearchPrecision.Int8);
            Assert.That(quantised.Candidates[0].PupilId, Is.EqualTo(exact.Candidates[0].PupilId));
            Assert.That(quantised.BestScore, Is.EqualTo(exact.BestScore).Within(1e-5f), "re-ranked scores are float scores");
        }
    }

    [Test]
    public void Templates_without_the_purpose_in_their_consent_are_never_compared()
    {
        var (index, people) = Enrolled(20);
        index.SetPurposes(5, BiometricPurpose.Access);
        var query = TestVectors.Near(people[5], new Random(2), 0.2f);

        Assert.That(index.Identify(query, BiometricPurpose.Access, Face).PupilId, Is.EqualTo(5));
        var forCanteen = index.Identify(query, BiometricPurpose.CanteenPayment, Face);
        Assert.That(forCanteen.Outcome, Is.EqualTo(IdentifyOutcome.Unknown));
        Assert.That(forCanteen.Reason, Does.Contain("nobody is enrolled with consent for CanteenPayment"));
        var forAttendance = index.Identify(query, BiometricPurpose.Attendance, Face);
        Assert.That(forAttendance.Candidates.Select(c => c.PupilId), Has.None.EqualTo(5));
    }

    [Test]
    public void A_pupil_whose_consent_was_never_pushed_is_invisible()
    {
        var index = new EmbeddingIndex();
        var v = TestVectors.Unit(new Random(1), 32);
        index.Add([new IndexedTemplate(1, 42, BiometricModality.Face, Face.ModelId, v)]);
        Assert.That(index.Identify(v, BiometricPurpose.Access, Face).Outcome, Is.EqualTo(IdentifyOutcome.Unknown));
        index.SetPurposes(42, BiometricPurpose.Access);
        Assert.That(index.Identify(v, BiometricPurpose.Access, Face).PupilId, Is.EqualTo(42));
    }

    [Test]
    public void An_identify_call_must_state_exactly_one_purpose()
    {
        var (index, people) = Enrolled(3);
        Assert.Throws<ArgumentException>(() => index.Identify(people[1], BiometricPurpose.None, Face));
        Assert.Throws<ArgumentException>(() => index.Identify(people[1], BiometricPurpose.Access | BiometricPurpose.Library, Face));
    }

    [Test]
    public void Another_model_or_modality_is_a_separate_space()
    {
        var (index, people) = Enrolled(5);
        var decision = index.Identify(people[1], BiometricPurpose.Access, new TemplateSpace(BiometricModality.Palm, Face.ModelId));
        Assert.That(decision.Outcome, Is.EqualTo(IdentifyOutcome.Unknown));
        Assert.That(index.Identify(people[1], BiometricPurpose.Access, Face with { ModelId = "other" }).Reason, Does.Contain("model 'other'"));
        Assert.That(() => index.Identify(new float[10], BiometricPurpose.Access, Face), Throws.ArgumentException.With.Message.Contains("different models"));
    }

    [Test]
    public void Two_pupils_within_the_margin_give_unknown()
    {
        var index = new EmbeddingIndex(new MatchPolicy { AcceptThreshold = 0.5f, Margin = 0.1f, LookAlikeThreshold = 0.99f });
        var random = new Random(4);
        var a = TestVectors.Unit(random, 64);
        var b = TestVectors.Near(a, random, 0.5f); // close to a, but below the look-alike threshold
        index.Add([new IndexedTemplate(1, 1, BiometricModality.Face, "m", a), new IndexedTemplate(2, 2, BiometricModality.Face, "m", b)]);
        index.SetPurposes(1, BiometricPurpose.Access);
        index.SetPurposes(2, BiometricPurpose.Access);
        var midway = a.Zip(b, (x, y) => x + y).ToArray();
        TestVectors.Normalise(midway);

        var decision = index.Identify(midway, BiometricPurpose.Access, new TemplateSpace(BiometricModality.Face, "m"), SearchPrecision.Float32);
        Assert.That(decision.Outcome, Is.EqualTo(IdentifyOutcome.Unknown));
        Assert.That(decision.Reason, Does.Contain("within the margin"));
    }

    [Test]
    public void Look_alikes_need_a_second_factor_even_when_the_twin_is_hidden_by_purpose()
    {
        var index = new EmbeddingIndex(new MatchPolicy { AcceptThreshold = 0.5f, Margin = 0.08f });
        var random = new Random(5);
        var twinA = TestVectors.Unit(random, 64);
        var twinB = TestVectors.Near(twinA, random, 0.25f);
        var other = TestVectors.Unit(random, 64);
        index.Add([new IndexedTemplate(1, 1, BiometricModality.Face, "m", twinA), new IndexedTemplate(3, 3, BiometricModality.Face, "m", other)]);
        var pairs = index.Add([new IndexedTemplate(2, 2, BiometricModality.Face, "m", twinB)]);
        index.SetPurposes(1, BiometricPurpose.Access);
        index.SetPurposes(3, BiometricPurpose.Access);
        index.SetPurposes(2, BiometricPurpose.Attendance); // twin B is not visible to Access

        Assert.That(pairs, Has.Count.EqualTo(1));
        Assert.That((pairs[0].PupilA, pairs[0].PupilB), Is.EqualTo((1L, 2L)));
        var decision = index.Identify(twinA, BiometricPurpose.Access, new TemplateSpace(BiometricModality.Face, "m"));
        Assert.That(decision.Outcome, Is.EqualTo(IdentifyOutcome.SecondFactorRequired));
        Assert.That(decision.PupilId, Is.EqualTo(1));
        Assert.That(decision.Reason, Does.Contain("card or PIN"));
        Assert.That(index.Identify(other, BiometricPurpose.Access, new TemplateSpace(BiometricModality.Face, "m")).Outcome, Is.EqualTo(IdentifyOutcome.Accepted));

        index.RemovePupil(2);
        Assert.That(index.LookAlikesOf(1), Is.Empty);
        Assert.That(index.Identify(twinA, BiometricPurpose.Access, new TemplateSpace(BiometricModality.Face, "m")).Outcome, Is.EqualTo(IdentifyOutcome.Accepted));
    }

    [Test]
    public void Removing_a_pupil_takes_all_their_templates_out_of_the_next_search()
    {
        var (index, people) = Enrolled(50);
        Assert.That(index.RemovePupil(7), Is.EqualTo(3));
        Assert.That(index.TemplatesOf(7), Is.Empty);
        var decision = index.Identify(people[7], BiometricPurpose.Access, Face);
        Assert.That(decision.Candidates.Select(c => c.PupilId), Has.None.EqualTo(7));
        Assert.That(index.Count, Is.EqualTo(49 * 3));
    }

    [Test]
    public void Top_k_returns_distinct_pupils_best_first()
    {
        var (index, people) = Enrolled(30);
        var decision = index.Identify(people[3], BiometricPurpose.Access, Face, SearchPrecision.Float32);
        Assert.That(decision.Candidates, Has.Count.EqualTo(index.Policy.TopK));
        Assert.That(decision.Candidates.Select(c => c.Score), Is.Ordered.Descending);
        Assert.That(decision.Candidates[0].PupilId, Is.EqualTo(3));
    }

    [Test]
    public void Searches_running_during_enrolment_and_deletion_always_see_a_whole_snapshot()
    {
        var (index, people) = Enrolled(100, seed: 11);
        var random = new Random(12);
        var extra = Enumerable.Range(0, 200).Select(i => new IndexedTemplate(10_000 + i, 1_000 + i, BiometricModality.Face, Face.ModelId, TestVectors.Unit(random, 64))).ToList();
        var query = people[10];
        var (wrong, searches) = ConcurrentSwap.Run(index, () => index.Identify(query, BiometricPurpose.Access, Face, SearchPrecision.Float32).PupilId, 10, extra);
        Assert.That(wrong, Is.Zero);
        Assert.That(searches, Is.GreaterThan(0));
        Assert.That(index.Count, Is.EqualTo(300));
    }
}
