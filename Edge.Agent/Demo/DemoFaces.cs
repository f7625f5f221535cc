using System.Diagnostics;
using System.Globalization;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Recognition;
using Kezekshi.Edge.Agent.Runtime;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Face;
using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Index;

namespace Kezekshi.Edge.Agent.Demo;

/// <summary>
/// The demo's face gate: biometrics turned on under a clearly-labelled demo DPIA, access consents for a few
/// demo pupils, their enrolment from ORL face images (Olivetti Research Laboratory), a pupil whose parent
/// objected, and a camera on gate1's entry pointed at a looping video of those faces plus a stranger.
/// </summary>
public sealed class DemoFaces : IDisposable
{
    /// <summary>Demo pupils (IDs above the morning rush's taps) and the ORL person each one "is".</summary>
    public static readonly IReadOnlyList<(long Pupil, int OrlPerson)> Enrolled = [(1150, 5), (1151, 10), (1152, 20), (1153, 33)];

    /// <summary>Consented and enrolled, then the other parent objected: deleted, never recognised.</summary>
    public static readonly (long Pupil, int OrlPerson) Objected = (1154, 12);

    /// <summary>An ORL person who is not enrolled at all.</summary>
    public const int StrangerOrlPerson = 38;

    public const string CameraId = "gate1-in-camera";

    private const string Operator = "demo office";

    private readonly BiometricsModule _module;

    private DemoFaces(BiometricsModule module, FaceRecognition recognition, string video)
    {
        _module = module;
        Recognition = recognition;
        Video = video;
    }

    public FaceRecognition Recognition { get; }

    /// <summary>The looping video the gate1 entry camera reads.</summary>
    public string Video { get; }

    /// <summary>The demo's biometrics settings. The DPIA record says plainly that it is not a real one.</summary>
    public static BiometricsOptions Options(DateTimeOffset today) => new()
    {
        Enabled = true,
        Dpia = new DpiaRecord
        {
            Reference = "DEMO ONLY - not a real DPIA: a school records its own before turning biometrics on",
            ApprovedBy = "kezekshi-edge demo (nobody approved this)",
            ApprovedOn = DateOnly.FromDateTime(today.UtcDateTime),
        },
        // The default embedder's operating point on ORL (docs/biometrics-models.md): threshold 0.70, margin 0.05.
        // The look-alike line is drawn at the threshold itself (the highest ORL impostor pair scores 0.684), so
        // the demo's distinct people are not flagged as twins; a school reviews its own flagged pairs.
        Match = new MatchPolicy { AcceptThreshold = 0.70f, Margin = 0.05f, LookAlikeThreshold = 0.70f },
    };

    /// <summary>
    /// Prepares faces in <paramref name="dataDirectory"/> and adds the camera to gate1; returns null (after saying why
    /// and how to get faces) when the models, ONNX Runtime, ffmpeg or the ORL images are missing: the demo then runs on cards.
    /// </summary>
    public static async Task<DemoFaces?> PrepareAsync(string dataDirectory, EdgeOptions options, DateTimeOffset today, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        string? orl = FaceVideo.FindOrlFaces();
        if (orl is null)
        {
            await output.WriteLineAsync("      faces: the ORL face images are not at ../shared/datasets/orl-faces (or KEZEKSHI_ORL_PATH); the demo runs on cards.").ConfigureAwait(false);
            return null;
        }
        foreach (var stale in new[] { BiometricsDatabase(dataDirectory), BiometricsDatabase(dataDirectory) + "-wal", BiometricsDatabase(dataDirectory) + "-shm", Path.Combine(dataDirectory, "biometrics.key") })
            File.Delete(stale);
        BiometricsModule? module = null;
        FaceRecognition? recognition = null;
        try
        {
            module = BiometricsModule.Open(Options(today), dataDirectory);
            // One ORT thread: the demo's buses and card readers share the 2 cores with the camera (docs/biometrics.md, "The face gate").
            recognition = new FaceRecognition(module, new FacePipelineOptions { IntraOpThreads = 1 });
            if (!recognition.TryGetIdentifier(out _, out string problem))
            {
                await output.WriteLineAsync($"      faces: {problem} Run tools/setup.sh (it installs ONNX Runtime and converts the face models into .cache/models); the demo runs on cards.").ConfigureAwait(false);
                recognition.Dispose();
                module.Dispose();
                return null;
            }
            await output.WriteLineAsync("      faces: biometrics ON under a DEMO DPIA record (not a real one); face images: ORL database, Olivetti Research Laboratory / AT&T Laboratories Cambridge").ConfigureAwait(false);
            var decoder = new FfmpegImageDecoder();
            var enrolment = recognition.Enrolment();
            string photos = Path.Combine(dataDirectory, "photos");
            Directory.CreateDirectory(photos);
            foreach (var (pupil, person) in Enrolled.Append(Objected))
            {
                module.Consents.RecordGrant(new ConsentGrant(pupil, $"demo-mother-{pupil}", "Demo parent", DateTimeOffset.UtcNow, new string('d', 64),
                    BiometricPurpose.Access, DateTimeOffset.UtcNow.AddDays(365), Operator, NoCrossBorder: true));
                var images = new[] { 1, 2, 5 }.Select(i => FaceVideo.Padded(decoder.DecodeFile(FaceVideo.Orl(orl, person, i)))).ToList();
                var result = enrolment.Enrol(pupil, images, Operator);
                await output.WriteLineAsync($"      faces: pupil {pupil} (ORL s{person}): access consent recorded, {result.TemplateIds.Count} template(s) enrolled from images 1, 2, 5"
                    + (result.LookAlikes.Count > 0 ? $"; look-alike of {string.Join(", ", result.LookAlikes.Select(l => string.Create(CultureInfo.InvariantCulture, $"{(l.PupilA == pupil ? l.PupilB : l.PupilA)} ({l.Score:0.000})")))}: needs the card" : "")).ConfigureAwait(false);
                await PhotoAsync(FaceVideo.Orl(orl, person, 1), Path.Combine(photos, pupil.ToString(CultureInfo.InvariantCulture) + ".png"), cancellationToken).ConfigureAwait(false);
            }
            var receipt = module.Consents.RecordObjection(new Objection(Objected.Pupil, ByPupil: false, $"demo-father-{Objected.Pupil}", Operator, "the other parent objects to biometrics"));
            await output.WriteLineAsync($"      faces: pupil {Objected.Pupil}'s other parent objected: templates deleted (receipt {receipt.Id}); this pupil uses the card").ConfigureAwait(false);

            // The camera sees each enrolled pupil, a stranger and the pupil whose parent objected, one image each (not enrolled ones: 3).
            var sequence = new List<string>();
            foreach (var (_, person) in Enrolled.Take(2)) sequence.Add(FaceVideo.Orl(orl, person, 3));
            sequence.Add(FaceVideo.Orl(orl, StrangerOrlPerson, 3));
            foreach (var (_, person) in Enrolled.Skip(2)) sequence.Add(FaceVideo.Orl(orl, person, 3));
            sequence.Add(FaceVideo.Orl(orl, Objected.OrlPerson, 3));
            string video = await FaceVideo.MakeAsync(Path.Combine(dataDirectory, "videos"), sequence, 1.5, 10, cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync($"      faces: camera video {video} ({sequence.Count} faces, 1.5 s each, looping) on gate1 entry").ConfigureAwait(false);

            options.Gates.First(g => g.Name == "gate1").Cameras =
                [new CameraOptions { Id = CameraId, Direction = "entry", Url = video, Width = FaceVideo.Width, Height = FaceVideo.Height, FramesPerSecond = 5, Loop = true }];
            return new DemoFaces(module, recognition, video);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ImageDecodeException or ConsentException or BiometricsDisabledException)
        {
            await output.WriteLineAsync($"      faces: could not prepare the face gate ({e.Message}); the demo runs on cards.").ConfigureAwait(false);
            recognition?.Dispose();
            module?.Dispose();
            return null;
        }
    }

    /// <summary>The runtime's view of the face pipeline.</summary>
    public FaceGateSetup Setup => new() { Recognition = Recognition };

    private static string BiometricsDatabase(string dataDirectory) => Path.Combine(dataDirectory, Biometrics.Storage.BiometricsDatabase.FileName);

    private static async Task PhotoAsync(string source, string png, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("ffmpeg") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in new[] { "-v", "error", "-nostdin", "-y", "-i", source, png }) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("ffmpeg did not start.");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0) throw new InvalidOperationException($"ffmpeg could not write the demo photo {png}: {(await stderr.ConfigureAwait(false)).Trim()}");
    }

    public void Dispose()
    {
        Recognition.Dispose();
        _module.Dispose();
    }
}
