using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Enrolment;
using Kezekshi.Edge.Biometrics.Index;
using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests.Enrolment;

[TestFixture, Category("Integration")]
public sealed class EnrolmentServiceTests
{
    private sealed class RecordingProgress : IProgress<EnrolmentProgress>
    {
        public List<EnrolmentProgress> Reports { get; } = [];
        public void Report(EnrolmentProgress value) => Reports.Add(value);
    }

    [Test]
    public void Enrolment_is_refused_without_a_consent_covering_access()
    {
        using var rig = new BiometricsRig();
        var face = TestVectors.Unit(new Random(1), 16);
        Assert.That(() => rig.Enrolment.Enrol(1, [PixelTemplateExtractor.Image(face, 0.9f)], BiometricsRig.Operator),
            Throws.TypeOf<ConsentException>().With.Message.Contains("no valid guardian consent covers 'access'"));
        rig.Consents.RecordGrant(rig.Grant(1, BiometricPurpose.Library));
        Assert.That(() => rig.Enrolment.Enrol(1, [PixelTemplateExtractor.Image(face, 0.9f)], BiometricsRig.Operator), Throws.TypeOf<ConsentException>());
        Assert.That(rig.Store.Count(), Is.Zero);
    }

    [Test]
    public void Several_images_give_several_templates_and_each_rejected_image_says_why()
    {
        using var rig = new BiometricsRig();
        var random = new Random(2);
        var face = TestVectors.Unit(random, 16);
        rig.Consents.RecordGrant(rig.Grant(1, BiometricPurpose.Access));
        RawImage[] images =
        [
            PixelTemplateExtractor.Image(TestVectors.Near(face, random, 0.1f), 0.9f),
            PixelTemplateExtractor.Image(TestVectors.Near(face, random, 0.1f), 0.2f),
            new RawImage(32, 2, 1, Enumerable.Repeat((byte)128, 64).ToArray()),
            new RawImage(32, 2, 1, new byte[10]),
            PixelTemplateExtractor.Image(TestVectors.Near(face, random, 0.1f), 0.7f),
        ];

        var result = rig.Enrolment.Enrol(1, images, BiometricsRig.Operator);

        Assert.That(result.TemplateIds, Has.Count.EqualTo(2));
        Assert.That(result.Images.Select(i => i.Accepted), Is.EqualTo(new[] { true, false, false, false, true }));
        Assert.That(result.Images[1].RejectedBecause, Does.Contain("quality 0.20 is below 0.50"));
        Assert.That(result.Images[2].RejectedBecause, Is.EqualTo("no face found"));
        Assert.That(result.Images[3].RejectedBecause, Does.Contain("damaged"));
        Assert.That(rig.Index.TemplatesOf(1), Is.EquivalentTo(result.TemplateIds));
        Assert.That(rig.Identify(face, BiometricPurpose.Access).PupilId, Is.EqualTo(1));
    }

    [Test]
    public void Live_feedback_checks_an_image_without_storing_it()
    {
        using var rig = new BiometricsRig();
        var feedback = rig.Enrolment.Check(PixelTemplateExtractor.Image(TestVectors.Unit(new Random(3), 16), 0.4f));
        Assert.That(feedback.Accepted, Is.False);
        Assert.That(feedback.Quality, Is.EqualTo(0.4f).Within(0.01f));
        Assert.That(rig.Store.Count(), Is.Zero);
    }

    [Test]
    public void Enrolment_is_refused_while_the_dpia_is_not_recorded()
    {
        using var rig = new BiometricsRig(options: new BiometricsOptions { Enabled = true });
        rig.Consents.RecordGrant(rig.Grant(1, BiometricPurpose.Access));
        Assert.That(() => rig.Enrolment.Enrol(1, [PixelTemplateExtractor.Image(TestVectors.Unit(new Random(1), 16), 0.9f)], BiometricsRig.Operator),
            Throws.TypeOf<BiometricsDisabledException>().With.Message.Contains("Biometrics:Dpia:Reference"));
    }

    [Test]
    public void A_class_folder_is_enrolled_with_progress_and_a_summary_of_rejected_images()
    {
        using var rig = new BiometricsRig();
        var random = new Random(4);
        string folder = Path.Combine(rig.Directory, "class-5b");
        Directory.CreateDirectory(folder);
        var faces = new Dictionary<long, float[]> { [1001] = TestVectors.Unit(random, 16), [1002] = TestVectors.Unit(random, 16), [1003] = TestVectors.Unit(random, 16) };
        File.WriteAllText(Path.Combine(folder, "pupils.csv"), "key,pupil_id\n# register number -> pupil id\n01,1001\n02,1002\n03,1003\n");
        for (int k = 1; k <= 2; k++)
            foreach (var (key, pupil) in new[] { ("01", 1001L), ("02", 1002L), ("03", 1003L) })
                File.WriteAllBytes(Path.Combine(folder, $"{key}_{k}.pgm"), PixelTemplateExtractor.Pgm(PixelTemplateExtractor.Image(TestVectors.Near(faces[pupil], random, 0.1f), k == 2 && key == "02" ? 0.1f : 0.9f)));
        File.WriteAllBytes(Path.Combine(folder, "04_1.pgm"), PixelTemplateExtractor.Pgm(PixelTemplateExtractor.Image(TestVectors.Unit(random, 16), 0.9f)));
        File.WriteAllBytes(Path.Combine(folder, "01_3.pgm"), "P5\n32 2\n255\n"u8.ToArray());
        File.WriteAllText(Path.Combine(folder, "01_4.jpg"), "JFIF");
        rig.Consents.RecordGrant(rig.Grant(1001, BiometricPurpose.Access));
        rig.Consents.RecordGrant(rig.Grant(1002, BiometricPurpose.Access | BiometricPurpose.Attendance));
        // 1003 has no consent
        var progress = new RecordingProgress();

        var summary = rig.Enrolment.EnrolFolder(folder, BiometricsRig.Operator, progress);

        Assert.That(summary.Files, Is.EqualTo(9));
        Assert.That(progress.Reports.Select(p => p.FilesDone), Is.EqualTo(Enumerable.Range(1, 9)));
        Assert.That(progress.Reports.All(p => p.FilesTotal == 9));
        Assert.That(summary.PupilsEnrolled, Is.EqualTo(2));
        Assert.That(summary.TemplatesStored, Is.EqualTo(3));
        var reasons = summary.Rejected.ToDictionary(r => r.File, r => r.Reason);
        Assert.That(reasons.Keys, Is.EquivalentTo(new[] { "01_3.pgm", "01_4.jpg", "02_2.pgm", "03_1.pgm", "03_2.pgm", "04_1.pgm" }));
        Assert.That(reasons["01_3.pgm"], Does.Contain("truncated"));
        Assert.That(reasons["01_4.jpg"], Does.Contain("not a binary PGM/PPM"));
        Assert.That(reasons["02_2.pgm"], Does.Contain("quality"));
        Assert.That(reasons["03_1.pgm"], Does.Contain("consent"));
        Assert.That(reasons["04_1.pgm"], Does.Contain("'04' is not in pupils.csv"));
        Assert.That(summary.ToString(), Does.Contain("6 images rejected"));
        Assert.That(rig.Identify(faces[1002], BiometricPurpose.Attendance).PupilId, Is.EqualTo(1002));
    }

    [Test]
    public void Without_a_mapping_file_names_must_start_with_the_pupil_id()
    {
        using var rig = new BiometricsRig();
        var random = new Random(5);
        string folder = Path.Combine(rig.Directory, "class");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "77_front.pgm"), PixelTemplateExtractor.Pgm(PixelTemplateExtractor.Image(TestVectors.Unit(random, 16), 0.9f)));
        File.WriteAllBytes(Path.Combine(folder, "aliya.pgm"), PixelTemplateExtractor.Pgm(PixelTemplateExtractor.Image(TestVectors.Unit(random, 16), 0.9f)));
        rig.Consents.RecordGrant(rig.Grant(77, BiometricPurpose.Access));

        var summary = rig.Enrolment.EnrolFolder(folder, BiometricsRig.Operator);

        Assert.That(summary.TemplatesStored, Is.EqualTo(1));
        Assert.That(summary.Rejected.Single().Reason, Does.Contain("does not start with a pupil id"));
    }
}
