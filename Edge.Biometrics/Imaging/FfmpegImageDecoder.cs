using System.ComponentModel;
using System.Diagnostics;

namespace Kezekshi.Edge.Biometrics.Imaging;

/// <summary>An image could not be decoded; the message says which file and what ffmpeg reported.</summary>
public sealed class ImageDecodeException : Exception
{
    public ImageDecodeException(string message) : base(message) { }

    public ImageDecodeException(string message, Exception inner) : base(message, inner) { }

    public ImageDecodeException() { }
}

/// <summary>
/// Decodes image files (JPEG, PNG, BMP, PGM/PPM, anything ffmpeg reads) to 8-bit RGB by running
/// ffmpeg and reading a binary PPM from its standard output.
/// </summary>
/// <remarks>
/// ffmpeg is the one image/video dependency of the pipeline (no OpenCV or SkiaSharp here, see
/// DEPENDENCIES.md). PPM on the pipe carries the width and height in its header, so one process call
/// decodes any format without a separate ffprobe.
/// </remarks>
public sealed class FfmpegImageDecoder(string ffmpegPath = "ffmpeg")
{
    public string FfmpegPath { get; } = ffmpegPath;

    /// <summary>Decodes the first frame of <paramref name="path"/> to RGB.</summary>
    /// <exception cref="ImageDecodeException">Missing, corrupt or unsupported file, or ffmpeg missing.</exception>
    public RawImage DecodeFile(string path)
    {
        if (!File.Exists(path))
            throw new ImageDecodeException($"The image file {path} does not exist.");
        return Run(["-v", "error", "-nostdin", "-i", path, "-frames:v", "1", "-f", "image2pipe", "-c:v", "ppm", "-pix_fmt", "rgb24", "pipe:1"], null, path);
    }

    /// <summary>Decodes an image held in memory (e.g. an upload from the enrolment API).</summary>
    public RawImage Decode(byte[] encoded, string description = "the image")
    {
        ArgumentNullException.ThrowIfNull(encoded);
        return Run(["-v", "error", "-i", "pipe:0", "-frames:v", "1", "-f", "image2pipe", "-c:v", "ppm", "-pix_fmt", "rgb24", "pipe:1"], encoded, description);
    }

    private RawImage Run(string[] arguments, byte[]? stdin, string what)
    {
        var start = new ProcessStartInfo(FfmpegPath, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new ImageDecodeException($"ffmpeg ({FfmpegPath}) did not start.");
        }
        catch (Win32Exception e)
        {
            throw new ImageDecodeException($"ffmpeg was not found ({FfmpegPath}): install it (Debian: apt-get install ffmpeg, or run tools/setup.sh).", e);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            Task? feed = null;
            if (stdin is not null)
            {
                feed = Task.Run(async () =>
                {
                    try
                    {
                        await process.StandardInput.BaseStream.WriteAsync(stdin);
                        process.StandardInput.Close();
                    }
                    catch (IOException)
                    {
                        // ffmpeg stopped reading (it rejected the data); its exit code and message tell why.
                    }
                });
            }
            using var output = new MemoryStream();
            process.StandardOutput.BaseStream.CopyTo(output);
            process.WaitForExit();
            feed?.Wait();
            // ffmpeg repeats itself over several lines; the first says what is wrong with the file.
            var message = stderr.Result.Trim().Split('\n')[0].Trim();
            if (process.ExitCode != 0 || output.Length == 0)
            {
                throw new ImageDecodeException(
                    $"{what} could not be decoded as an image (ffmpeg exit code {process.ExitCode}: {(message.Length > 0 ? message : "no output")}). " +
                    "Check that it is a complete JPEG, PNG, BMP or PGM photo; take or export it again.");
            }
            return ParsePpm(output.GetBuffer().AsSpan(0, (int)output.Length), what);
        }
    }

    /// <summary>Reads a binary PPM (P6, maxval 255).</summary>
    internal static RawImage ParsePpm(ReadOnlySpan<byte> data, string what)
    {
        var position = 0;
        string Token(ReadOnlySpan<byte> d)
        {
            while (position < d.Length && (char.IsWhiteSpace((char)d[position]) || d[position] == '#'))
            {
                if (d[position] == '#')
                {
                    while (position < d.Length && d[position] != '\n')
                        position++;
                }
                else
                {
                    position++;
                }
            }
            var begin = position;
            while (position < d.Length && !char.IsWhiteSpace((char)d[position]))
                position++;
            return System.Text.Encoding.ASCII.GetString(d[begin..position]);
        }
        var magic = Token(data);
        if (magic != "P6" || !int.TryParse(Token(data), out var width) || !int.TryParse(Token(data), out var height) || Token(data) != "255")
            throw new ImageDecodeException($"{what}: ffmpeg did not produce an 8-bit RGB image.");
        position++; // the single whitespace after maxval
        var length = width * height * 3;
        if (data.Length - position < length)
            throw new ImageDecodeException($"{what}: the decoded image is truncated.");
        return new RawImage(width, height, 3, data.Slice(position, length).ToArray());
    }
}
