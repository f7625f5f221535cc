using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Kezekshi.Edge.Biometrics.Imaging;

/// <summary>Where frames come from and at what size.</summary>
/// <param name="Url">A file, a V4L2 device (/dev/video0), or an RTSP URL (rtsp://camera/stream).</param>
/// <param name="Width">Frame width ffmpeg scales to.</param>
/// <param name="Height">Frame height ffmpeg scales to.</param>
/// <param name="FramesPerSecond">Frame rate ffmpeg delivers (it drops or repeats frames to keep it).</param>
/// <param name="Loop">Replay a file source forever (demo videos).</param>
public sealed record CaptureOptions(string Url, int Width = 640, int Height = 480, int FramesPerSecond = 10, bool Loop = false, string FfmpegPath = "ffmpeg");

/// <summary>
/// Camera capture through ffmpeg: one process per source writing raw RGB frames of a fixed size to a
/// pipe. One code path covers files, V4L2 devices and RTSP cameras.
/// </summary>
public sealed class FfmpegCaptureSource(CaptureOptions options)
{
    public CaptureOptions Options { get; } = options;

    internal string[] Arguments()
    {
        var args = new List<string> { "-v", "error", "-nostdin" };
        var url = Options.Url;
        if (url.StartsWith("/dev/video", StringComparison.Ordinal))
            args.AddRange(["-f", "v4l2"]);
        else if (url.StartsWith("rtsp://", StringComparison.OrdinalIgnoreCase))
            args.AddRange(["-rtsp_transport", "tcp"]); // UDP loses packets on school Wi-Fi; TCP gives whole frames
        else if (Options.Loop)
            args.AddRange(["-stream_loop", "-1"]);
        if (!url.Contains("://", StringComparison.Ordinal) && !url.StartsWith("/dev/", StringComparison.Ordinal))
            args.Add("-re"); // a file plays at its own speed, like a camera
        args.AddRange(["-i", url, "-an", "-vf", $"fps={Options.FramesPerSecond},scale={Options.Width}:{Options.Height}", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]);
        return [.. args];
    }

    /// <summary>Frames until the source ends or <paramref name="cancellationToken"/> fires.</summary>
    public async IAsyncEnumerable<RawImage> ReadFramesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(Options.FfmpegPath, Arguments())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new ImageDecodeException("ffmpeg did not start.");
        }
        catch (Win32Exception e)
        {
            throw new ImageDecodeException($"ffmpeg was not found ({Options.FfmpegPath}): install it (Debian: apt-get install ffmpeg, or run tools/setup.sh).", e);
        }
        using var _ = process;
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var frameBytes = Options.Width * Options.Height * 3;
        var stream = process.StandardOutput.BaseStream;
        try
        {
            while (true)
            {
                var frame = new byte[frameBytes];
                var read = 0;
                while (read < frameBytes)
                {
                    var n = await stream.ReadAsync(frame.AsMemory(read), cancellationToken);
                    if (n == 0)
                        break;
                    read += n;
                }
                if (read < frameBytes)
                    break;
                yield return new RawImage(Options.Width, Options.Height, 3, frame);
            }
        }
        finally
        {
            if (!process.HasExited)
                process.Kill();
        }
        await process.WaitForExitAsync(CancellationToken.None);
        var message = (await stderr).Trim();
        if (process.ExitCode != 0 && !cancellationToken.IsCancellationRequested && message.Length > 0)
            throw new ImageDecodeException($"The camera source {Options.Url} failed: {message}. Check the device path or URL and that the camera is on.");
    }
}
