using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Kezekshi.Edge.Biometrics;

namespace Kezekshi.Edge.Agent.Demo;

/// <summary>
/// Makes a "camera" video from still face images with ffmpeg: each image centred on a larger grey canvas
/// (the face fills about half the frame height, as at a turnstile) and held for a while. The demo and the
/// tests point a gate camera at it. Images come from the ORL face database (AT&amp;T Laboratories Cambridge,
/// formerly the Olivetti Research Laboratory): 40 people × 10 greyscale images of 92×112.
/// </summary>
public static class FaceVideo
{
    /// <summary>Canvas size: ORL's 92×112 face on 240 rows fills about half the frame height.</summary>
    public const int Width = 200;

    public const int Height = 240;

    /// <summary>The ORL folder (s1 … s40), or null when it is not on this machine.</summary>
    public static string? FindOrlFaces()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("KEZEKSHI_ORL_PATH") is { Length: > 0 } fromEnvironment) candidates.Add(fromEnvironment);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            candidates.Add(Path.Combine(dir.FullName, "..", "shared", "datasets", "orl-faces"));
        candidates.Add(Path.Combine(Directory.GetCurrentDirectory(), "..", "shared", "datasets", "orl-faces"));
        candidates.Add("/work/shared/datasets/orl-faces");
        return candidates.Select(Path.GetFullPath).FirstOrDefault(c => File.Exists(Path.Combine(c, "s1", "1.pgm")));
    }

    /// <summary>The path of ORL image <paramref name="image"/> (1–10) of person <paramref name="person"/> (1–40).</summary>
    public static string Orl(string orlFolder, int person, int image) =>
        Path.Combine(orlFolder, string.Create(CultureInfo.InvariantCulture, $"s{person}"), string.Create(CultureInfo.InvariantCulture, $"{image}.pgm"));

    /// <summary>
    /// Makes (or reuses, when the same images were already made into <paramref name="folder"/>) a lossless FFV1 video:
    /// each image held <paramref name="secondsEach"/> seconds at <paramref name="framesPerSecond"/>.
    /// </summary>
    /// <returns>The video's path.</returns>
    public static async Task<string> MakeAsync(string folder, IReadOnlyList<string> images, double secondsEach, int framesPerSecond, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("A video needs at least one image.", nameof(images));
        foreach (var image in images)
            if (!File.Exists(image)) throw new FileNotFoundException($"The face image {image} does not exist; is the ORL dataset at ../shared/datasets/orl-faces (or KEZEKSHI_ORL_PATH)?", image);
        Directory.CreateDirectory(folder);
        var list = new StringBuilder();
        foreach (var image in images)
            list.Append(CultureInfo.InvariantCulture, $"file '{Path.GetFullPath(image).Replace("'", "'\\''", StringComparison.Ordinal)}'\nduration {secondsEach}\n");
        // The concat demuxer ignores the last duration unless the last file is listed once more.
        list.Append(CultureInfo.InvariantCulture, $"file '{Path.GetFullPath(images[^1]).Replace("'", "'\\''", StringComparison.Ordinal)}'\n");
        string key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(list + $"|{framesPerSecond}|{Width}x{Height}")))[..16].ToLowerInvariant();
        string video = Path.Combine(folder, $"faces-{key}.mkv");
        if (File.Exists(video)) return video;

        string listFile = Path.Combine(folder, $"faces-{key}.txt");
        await File.WriteAllTextAsync(listFile, list.ToString(), cancellationToken).ConfigureAwait(false);
        string partial = video + ".partial.mkv";
        var start = new ProcessStartInfo("ffmpeg")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-v", "error", "-nostdin", "-y", "-f", "concat", "-safe", "0", "-i", listFile,
            "-vf", string.Create(CultureInfo.InvariantCulture, $"fps={framesPerSecond},pad={Width}:{Height}:(ow-iw)/2:(oh-ih)/2:color=0x808080,format=gray"),
            "-c:v", "ffv1", partial })
            start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("ffmpeg did not start.");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException("ffmpeg was not found: install it (Debian: apt-get install ffmpeg, or run tools/setup.sh).", e);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            _ = process.StandardOutput.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"ffmpeg could not make the face video {video}: {(await stderr.ConfigureAwait(false)).Trim()}");
        }
        File.Move(partial, video, overwrite: true);
        File.Delete(listFile);
        return video;
    }

    /// <summary>A face image centred on a grey canvas twice its size (how the enrolment photos and the video frames look).</summary>
    public static RawImage Padded(RawImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int w = image.Width * 2, h = image.Height * 2, c = image.Channels;
        var pixels = new byte[w * h * c];
        Array.Fill(pixels, (byte)0x80);
        int ox = (w - image.Width) / 2, oy = (h - image.Height) / 2;
        for (int y = 0; y < image.Height; y++)
            Array.Copy(image.Pixels, y * image.Width * c, pixels, (((oy + y) * w) + ox) * c, image.Width * c);
        return new RawImage(w, h, c, pixels);
    }
}
