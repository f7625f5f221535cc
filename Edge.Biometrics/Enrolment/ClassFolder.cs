using System.Globalization;

namespace Kezekshi.Edge.Biometrics.Enrolment;

/// <summary>
/// How a class folder's file names become pupil ids.
/// </summary>
/// <remarks>
/// A file is <c>&lt;key&gt;.&lt;ext&gt;</c> or <c>&lt;key&gt;_&lt;anything&gt;.&lt;ext&gt;</c>: several photos of one pupil
/// share the key (<c>1042_1.pgm</c>, <c>1042_2.pgm</c>). The key is the pupil id itself, unless the
/// folder has a <c>pupils.csv</c>: lines of <c>key,pupil_id</c> (a header line and <c>#</c> comments
/// are allowed), so photos can be named after, say, the class register number (<c>07_1.pgm</c>).
/// With a <c>pupils.csv</c>, every key must be in it: an unmapped photo is rejected, never guessed.
/// </remarks>
public sealed class ClassFolder
{
    public const string MappingFileName = "pupils.csv";

    private readonly Dictionary<string, long>? _mapping;

    private ClassFolder(string path, Dictionary<string, long>? mapping, IReadOnlyList<string> images)
    {
        Path = path;
        _mapping = mapping;
        Images = images;
    }

    public string Path { get; }

    /// <summary>Image files in name order (everything except the mapping file and hidden files).</summary>
    public IReadOnlyList<string> Images { get; }

    public static ClassFolder Open(string path)
    {
        if (!Directory.Exists(path))
            throw new DirectoryNotFoundException($"The enrolment folder {path} does not exist. Copy the class photos into it (one or more per pupil, named <pupilId>_<n>.pgm).");
        string mappingPath = System.IO.Path.Combine(path, MappingFileName);
        Dictionary<string, long>? mapping = File.Exists(mappingPath) ? ReadMapping(mappingPath) : null;
        var images = Directory.EnumerateFiles(path)
            .Where(f => !System.IO.Path.GetFileName(f).StartsWith('.') && !string.Equals(System.IO.Path.GetFileName(f), MappingFileName, StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList();
        return new ClassFolder(path, mapping, images);
    }

    /// <summary>The pupil a file belongs to, or null with the reason.</summary>
    public long? PupilOf(string file, out string? reason)
    {
        string stem = System.IO.Path.GetFileNameWithoutExtension(file);
        int underscore = stem.IndexOf('_', StringComparison.Ordinal);
        string key = underscore > 0 ? stem[..underscore] : stem;
        reason = null;
        if (_mapping is not null)
        {
            if (_mapping.TryGetValue(key, out long mapped))
                return mapped;
            reason = $"'{key}' is not in {MappingFileName}: add a line '{key},<pupil id>'";
            return null;
        }
        if (long.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out long pupil) && pupil > 0)
            return pupil;
        reason = $"the name does not start with a pupil id: name it <pupilId>_<n>{System.IO.Path.GetExtension(file)}, or add {MappingFileName}";
        return null;
    }

    private static Dictionary<string, long> ReadMapping(string path)
    {
        var mapping = new Dictionary<string, long>(StringComparer.Ordinal);
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNumber++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            var parts = line.Split(',', StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long pupil) && pupil > 0)
            {
                if (!mapping.TryAdd(parts[0], pupil))
                    throw new InvalidDataException($"{path} line {lineNumber}: '{parts[0]}' is mapped twice. Each photo key maps to one pupil.");
                continue;
            }
            if (lineNumber == 1)
                continue; // a header such as "key,pupil_id"
            throw new InvalidDataException($"{path} line {lineNumber}: expected 'key,pupil_id' (a positive number), got '{line}'.");
        }
        return mapping;
    }
}
