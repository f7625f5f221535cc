using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Index;

namespace Kezekshi.Edge.Agent.Tests.FaceGate;

/// <summary>
/// What the face gate tests share: the ORL face images (Olivetti Research Laboratory), videos made from them
/// with ffmpeg (cached in the temp folder by content), and biometrics settings with a recorded test DPIA.
/// </summary>
internal static class FaceAssets
{
    public const string Operator = "office.test";

    /// <summary>The ORL folder; fails the test with what to do when the dataset is missing.</summary>
    public static string OrlFaces =>
        FaceVideo.FindOrlFaces() ?? throw new AssertionException("The ORL face dataset was not found: put it at ../shared/datasets/orl-faces or set KEZEKSHI_ORL_PATH.");

    public static string VideoFolder => Path.Combine(Path.GetTempPath(), "kezekshi-face-videos");

    /// <summary>A video of ORL person <paramref name="person"/>'s images, each held one second.</summary>
    public static Task<string> VideoOfAsync(int person, int framesPerSecond, params int[] images) =>
        FaceVideo.MakeAsync(VideoFolder, images.Select(i => FaceVideo.Orl(OrlFaces, person, i)).ToList(), 1.0, framesPerSecond);

    /// <summary>Biometrics on with a test DPIA; the default embedder's operating point (docs/biometrics-models.md: 0.70 / 0.05 for faceres).</summary>
    public static BiometricsOptions Options() => new()
    {
        Enabled = true,
        Dpia = new DpiaRecord { Reference = "TEST-DPIA-1", ApprovedBy = "test suite", ApprovedOn = new DateOnly(2026, 1, 1) },
        Match = new MatchPolicy { AcceptThreshold = 0.70f, Margin = 0.05f, LookAlikeThreshold = 0.70f },
    };

    /// <summary>A parent's consent to <paramref name="purposes"/> for a year.</summary>
    public static ConsentGrant Consent(long pupil, BiometricPurpose purposes) =>
        new(pupil, "g-" + pupil, "Guardian of " + pupil, DateTimeOffset.UtcNow, new string('a', 64), purposes, DateTimeOffset.UtcNow.AddDays(365), Operator, NoCrossBorder: true);

    /// <summary>ORL images as enrolment photos (centred on a grey canvas, as the video frames are).</summary>
    public static IReadOnlyList<RawImage> Photos(int person, params int[] images)
    {
        var decoder = new FfmpegImageDecoder();
        return images.Select(i => FaceVideo.Padded(decoder.DecodeFile(FaceVideo.Orl(OrlFaces, person, i)))).ToList();
    }
}
