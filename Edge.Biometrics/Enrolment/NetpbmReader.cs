using System.Globalization;
using System.Text;

namespace Kezekshi.Edge.Biometrics.Enrolment;

/// <summary>
/// Reads binary PGM (P5, grey) and PPM (P6, RGB) files with 8-bit samples into a <see cref="RawImage"/>.
/// </summary>
/// <remarks>
/// The one image format the enrolment folder reads without ffmpeg: the ORL face set ships as PGM,
/// and ffmpeg writes PGM/PPM. Other formats (JPEG, PNG) are decoded by the face pipeline's ffmpeg
/// reader, passed to the batch enrolment as its decoder.
/// </remarks>
public static class NetpbmReader
{
    public static RawImage Read(string path)
    {
        byte[] data;
        try { data = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Cannot read {path}: {e.Message}", e);
        }
        return Parse(data, path);
    }

    public static RawImage Parse(byte[] data, string name)
    {
        ArgumentNullException.ThrowIfNull(data);
        int position = 0;
        string magic = Token(data, ref position, name);
        int channels = magic switch
        {
            "P5" => 1,
            "P6" => 3,
            _ => throw new InvalidDataException($"{name} is not a binary PGM/PPM image (it starts with '{Printable(magic)}', expected P5 or P6). Convert it: ffmpeg -i {name} out.pgm"),
        };
        int width = Number(data, ref position, name, "width");
        int height = Number(data, ref position, name, "height");
        int max = Number(data, ref position, name, "maximum value");
        if (max != 255)
            throw new InvalidDataException($"{name} has {max} as maximum sample value; only 8-bit images (255) are read.");
        position++; // the single whitespace byte after the header
        long needed = (long)width * height * channels;
        if (width is <= 0 or > 16384 || height is <= 0 or > 16384 || data.Length - position < needed)
            throw new InvalidDataException($"{name} is truncated or damaged: a {width}x{height} image needs {needed} bytes of pixels, the file has {Math.Max(0, data.Length - position)}.");
        return new RawImage(width, height, channels, data.AsSpan(position, (int)needed).ToArray());
    }

    private static int Number(byte[] data, ref int position, string name, string what)
    {
        string token = Token(data, ref position, name);
        if (!int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value > 65535)
            throw new InvalidDataException($"{name}: the image header's {what} '{Printable(token)}' is not a valid number. The file is damaged.");
        return value;
    }

    private static string Token(byte[] data, ref int position, string name)
    {
        while (position < data.Length)
        {
            if (data[position] == (byte)'#')
                while (position < data.Length && data[position] != (byte)'\n')
                    position++;
            else if (char.IsWhiteSpace((char)data[position]))
                position++;
            else
                break;
        }
        int start = position;
        while (position < data.Length && !char.IsWhiteSpace((char)data[position]) && position - start < 16)
            position++;
        if (start == position)
            throw new InvalidDataException($"{name} ends inside its header: the file is empty or damaged.");
        return Encoding.ASCII.GetString(data, start, position - start);
    }

    private static string Printable(string s) => new(s.Select(c => char.IsControl(c) || c > '~' ? '?' : c).ToArray());
}
