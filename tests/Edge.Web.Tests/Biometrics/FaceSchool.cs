using System.Diagnostics;
using Kezekshi.Edge.Agent.Recognition;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Face;
using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Index;

namespace Kezekshi.Edge.Web.Tests.Biometrics;

/// <summary>
/// Biometrics for the web tests: the real converted models (tools/setup.sh puts them in .cache/models), real ONNX
/// Runtime, a real biometrics.db in the school's temp directory, and faces from the ORL database
/// (AT&amp;T "The Database of Faces", Olivetti Research Laboratory, Cambridge), padded as the pipeline tests do.
/// </summary>
public static class FaceSchool
{
    public static string RepositoryRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Kezekshi.sln"))) return dir.FullName;
        throw new InvalidOperationException("Kezekshi.sln not found above " + AppContext.BaseDirectory);
    }

    public static string OrlFaces =>
        Kezekshi.Edge.Agent.Demo.FaceVideo.FindOrlFaces() ?? throw new AssertionException("The ORL faces are missing (../shared/datasets/orl-faces next to the repository, or KEZEKSHI_ORL_PATH).");

    /// <summary>
    /// The default embedder's operating point on ORL (docs/biometrics-models.md: no impostor pair reaches 0.70), and
    /// a look-alike line at the threshold, so the tests see accept / reject, not "use a card".
    /// </summary>
    public static MatchPolicy Policy { get; } = new() { AcceptThreshold = 0.70f, Margin = 0.05f, LookAlikeThreshold = 0.70f };

    /// <summary>Opens biometrics (DPIA recorded) in <paramref name="directory"/> and the face pipeline over it.</summary>
    public static FaceRecognition Open(TempDirectory directory)
    {
        var options = new BiometricsOptions
        {
            Enabled = true,
            Dpia = new DpiaRecord { Reference = "DPIA-TEST-1", ApprovedBy = "test head teacher", ApprovedOn = DateOnly.FromDateTime(DateTime.UtcNow.AddDays(-2)) },
            Match = Policy,
        };
        var module = BiometricsModule.Open(options, directory.Path);
        var recognition = new FaceRecognition(module, new FacePipelineOptions
        {
            ManifestPath = Path.Combine(RepositoryRoot, "models", "manifest.json"),
            ModelsFolder = Path.Combine(RepositoryRoot, ".cache", "models"),
        });
        if (!recognition.TryGetIdentifier(out _, out string problem))
            Assert.Fail(problem + " Run tools/setup.sh (it installs ONNX Runtime and converts the models into .cache/models).");
        return recognition;
    }

    /// <summary>ORL person <paramref name="person"/>, image <paramref name="image"/>: the 92×112 crop centred on a 2× canvas of its own border grey.</summary>
    public static RawImage Orl(int person, int image) => Padded(new FfmpegImageDecoder().DecodeFile(Path.Combine(OrlFaces, $"s{person}", $"{image}.pgm")));

    /// <summary>The same padded face as a PNG file's bytes (what a photo upload carries).</summary>
    public static byte[] OrlPng(int person, int image) => Png(Orl(person, image));

    /// <summary>Encodes pixels as a PNG file's bytes (ffmpeg).</summary>
    public static byte[] Png(RawImage raw)
    {
        string file = Path.Combine(Path.GetTempPath(), $"kezekshi-orl-{Guid.NewGuid():N}.png");
        try
        {
            Ffmpeg(["-f", "rawvideo", "-pix_fmt", raw.Channels == 1 ? "gray" : "rgb24", "-s", $"{raw.Width}x{raw.Height}", "-i", "pipe:0", "-frames:v", "1", file], raw.Pixels);
            return File.ReadAllBytes(file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Writes a short video of one padded ORL face to <paramref name="path"/>: the till camera's view of that child.</summary>
    public static void WriteVideo(string path, int person, int image)
    {
        var raw = Orl(person, image);
        File.Delete(path);
        // Two seconds at 5 fps, lossless: what an RTSP camera pointed at the child would deliver.
        Ffmpeg(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", $"{raw.Width}x{raw.Height}", "-framerate", "5", "-i", "pipe:0", "-vf", "loop=loop=9:size=1:start=0", "-c:v", "ffv1", path], raw.Pixels);
    }

    private static void Ffmpeg(string[] arguments, byte[] input)
    {
        var start = new ProcessStartInfo("ffmpeg", ["-v", "error", "-y", .. arguments]) { RedirectStandardInput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardInput.BaseStream.Write(input);
        process.StandardInput.Close();
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.Zero, "ffmpeg: " + errors.Result);
    }

    private static RawImage Padded(RawImage image)
    {
        int w = image.Width * 2, h = image.Height * 2, c = image.Channels;
        long border = 0;
        for (var x = 0; x < image.Width; x++)
            border += image.Pixels[x * c] + image.Pixels[(((image.Height - 1) * image.Width) + x) * c];
        var pixels = new byte[w * h * c];
        Array.Fill(pixels, (byte)(border / (2 * image.Width)));
        int ox = (w - image.Width) / 2, oy = (h - image.Height) / 2;
        for (var y = 0; y < image.Height; y++)
            Array.Copy(image.Pixels, y * image.Width * c, pixels, (((oy + y) * w) + ox) * c, image.Width * c);
        return new RawImage(w, h, c, pixels);
    }

    /// <summary>A made-up SHA-256 of a scanned form.</summary>
    public static string FormHash(string form) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(form)));
}
