using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Index;
using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests.Consent;

/// <summary>
/// Property: over random sequences of enrol / consent / revoke / expire / objection, no identify
/// call ever returns a template whose consent lacks the call's purpose, and a deleted (revoked)
/// template is never returned again. Checked against a model of the consent rules written
/// independently here, not against ConsentPolicy itself.
/// </summary>
[TestFixture, Category("Integration")]
public sealed class PurposeLimitPropertyTests
{
    private static readonly BiometricPurpose[] Purposes =
        [BiometricPurpose.Access, BiometricPurpose.Attendance, BiometricPurpose.Safety, BiometricPurpose.CanteenPayment, BiometricPurpose.Library];

    private sealed record ModelGrant(string Guardian, BiometricPurpose Purposes, DateTimeOffset Expires);

    private sealed class Model
    {
        public Dictionary<long, List<ModelGrant>> Grants { get; } = [];
        public Dictionary<long, int> Objections { get; } = [];

        public BiometricPurpose Mask(long pupil, DateTimeOffset now)
        {
            if (Objections.GetValueOrDefault(pupil) > 0)
                return BiometricPurpose.None;
            var mask = BiometricPurpose.None;
            foreach (var grant in Grants.GetValueOrDefault(pupil) ?? [])
                if (now < grant.Expires)
                    mask |= grant.Purposes;
            return mask;
        }
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    public void No_identify_returns_a_template_without_consent_for_its_purpose_or_after_deletion(int seed)
    {
        // The binary prefilter forced on, with 2 candidates: the policy's own choice (no precision
        // named) then goes through the binary first pass, whose purpose test must hold as well.
        using var rig = new BiometricsRig(policy: new MatchPolicy { AcceptThreshold = 0.3f, Margin = 0.02f, LookAlikeThreshold = 0.995f, BinaryPrefilter = BinaryPrefilterMode.On, BinaryCandidates = 2 });
        var random = new Random(seed);
        var model = new Model();
        var faces = Enumerable.Range(1, 8).ToDictionary(p => (long)p, _ => TestVectors.Unit(random, 16));
        var deleted = new HashSet<long>();
        var guardians = new[] { "g-mother", "g-father" };
        int identifies = 0, nonEmpty = 0, enrolled = 0, revoked = 0;

        for (int step = 0; step < 200; step++)
        {
            long pupil = random.Next(1, 9);
            var now = rig.Time.GetUtcNow();
            switch (random.Next(12))
            {
                case 0 or 1 or 2 or 3: // consent
                {
                    var purposes = random.Next(4) switch
                    {
                        0 => BiometricPurpose.CanteenPayment,
                        1 => BiometricPurpose.Library,
                        _ => (BiometricPurpose)random.Next(1, 8),
                    };
                    string guardian = guardians[random.Next(2)];
                    int days = random.Next(5, 120);
                    rig.Consents.RecordGrant(rig.Grant(pupil, purposes, guardian, days));
                    (model.Grants.TryGetValue(pupil, out var list) ? list : model.Grants[pupil] = []).Add(new ModelGrant(guardian, purposes, now.AddDays(days)));
                    break;
                }
                case 4 or 5 or 6: // enrol
                {
                    bool allowed = (model.Mask(pupil, now) & BiometricPurpose.Access) != 0;
                    var images = Enumerable.Range(0, 2).Select(_ => PixelTemplateExtractor.Image(TestVectors.Near(faces[pupil], random, 0.1f), 0.9f)).ToList();
                    if (allowed)
                    {
                        Assert.That(rig.Enrolment.Enrol(pupil, images, BiometricsRig.Operator).TemplateIds, Has.Count.EqualTo(2));
                        enrolled++;
                    }
                    else
                    {
                        Assert.That(() => rig.Enrolment.Enrol(pupil, images, BiometricsRig.Operator), Throws.TypeOf<ConsentException>(), $"step {step}: pupil {pupil} has no Access consent");
                    }
                    break;
                }
                case 7: // revoke all or some purposes of one guardian or all guardians
                {
                    string? guardian = random.Next(3) == 0 ? null : guardians[random.Next(2)];
                    var purposes = random.Next(2) == 0 ? ConsentPolicy.AllowedPurposes : Purposes[random.Next(Purposes.Length)];
                    var before = rig.Index.TemplatesOf(pupil);
                    var grants = model.Grants.GetValueOrDefault(pupil) ?? [];
                    for (int i = 0; i < grants.Count; i++)
                        if (guardian is null || grants[i].Guardian == guardian)
                            grants[i] = grants[i] with { Purposes = grants[i].Purposes & ~purposes };
                    var receipt = rig.Consents.Revoke(new Revocation(pupil, guardian, BiometricsRig.Operator, "property test", purposes));
                    bool expectDeletion = (model.Mask(pupil, now) & BiometricPurpose.Access) == 0;
                    Assert.That(receipt is not null, Is.EqualTo(expectDeletion), $"step {step}: deletion when Access no longer remains");
                    if (receipt is not null)
                    {
                        deleted.UnionWith(before);
                        revoked++;
                    }
                    break;
                }
                case 8: // time passes: consents expire
                    rig.Time.Advance(TimeSpan.FromDays(random.Next(1, 20)));
                    rig.Consents.RefreshAll();
                    break;
                case 9: // objection by a guardian or the pupil
                {
                    deleted.UnionWith(rig.Index.TemplatesOf(pupil));
                    bool byPupil = random.Next(2) == 0;
                    rig.Consents.RecordObjection(new Objection(pupil, byPupil, byPupil ? null : guardians[random.Next(2)], BiometricsRig.Operator, "property test"));
                    model.Objections[pupil] = model.Objections.GetValueOrDefault(pupil) + 1;
                    break;
                }
                default: // an objection is lifted
                    if (model.Objections.GetValueOrDefault(pupil) > 0)
                    {
                        rig.Consents.LiftObjections(pupil, BiometricsRig.Operator, "withdrawn in writing");
                        model.Objections[pupil] = 0;
                    }
                    break;
            }

            now = rig.Time.GetUtcNow();
            foreach (var (who, face) in faces)
                foreach (var purpose in Purposes)
                    foreach (var precision in new SearchPrecision?[] { SearchPrecision.Float32, SearchPrecision.Int8, null })
                    {
                        var decision = rig.Index.Identify(TestVectors.Near(face, random, 0.1f), purpose, rig.Space, precision);
                        identifies++;
                        if (decision.Candidates.Count > 0)
                            nonEmpty++;
                        foreach (var candidate in decision.Candidates)
                        {
                            Assert.That(model.Mask(candidate.PupilId, now) & purpose, Is.EqualTo(purpose),
                                $"seed {seed} step {step}: identify for {purpose} returned pupil {candidate.PupilId} whose consent is {model.Mask(candidate.PupilId, now)}");
                            Assert.That(deleted, Does.Not.Contain(candidate.TemplateId), $"seed {seed} step {step}: deleted template {candidate.TemplateId} returned");
                        }
                    }
        }

        // The sequence must have exercised the interesting paths, or the property proves nothing.
        Assert.That(enrolled, Is.GreaterThan(3));
        Assert.That(revoked + deleted.Count, Is.GreaterThan(0));
        Assert.That(nonEmpty, Is.GreaterThan(identifies / 20));
        Assert.That(rig.Audit.Verify().IsIntact, Is.True);
    }
}
