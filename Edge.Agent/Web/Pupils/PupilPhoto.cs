using System.Globalization;
using System.Net;

namespace Kezekshi.Edge.Agent.Web.Pupils;

/// <summary>
/// A pupil's photo for the till and the desk: the school's photo file if there is one
/// (&lt;photos&gt;/&lt;id&gt;.jpg or .png), otherwise a drawn placeholder with the initials — never someone else's face.
/// </summary>
public static class PupilPhoto
{
    public static string? FindFile(string? directory, long pupilId)
    {
        if (string.IsNullOrEmpty(directory)) return null;
        foreach (var extension in new[] { ".jpg", ".jpeg", ".png" })
        {
            string path = Path.Combine(directory, pupilId.ToString(CultureInfo.InvariantCulture) + extension);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    public static string Placeholder(long pupilId, string fullName)
    {
        ArgumentNullException.ThrowIfNull(fullName);
        string initials = string.Concat(fullName.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(2).Select(p => char.ToUpperInvariant(p[0])));
        int hue = (int)(pupilId * 47 % 360);
        return $"""
            <svg xmlns="http://www.w3.org/2000/svg" width="240" height="300" viewBox="0 0 240 300">
            <rect width="240" height="300" fill="hsl({hue},45%,82%)"/>
            <circle cx="120" cy="115" r="60" fill="hsl({hue},35%,62%)"/>
            <rect x="40" y="190" width="160" height="110" rx="60" fill="hsl({hue},35%,62%)"/>
            <text x="120" y="135" font-family="sans-serif" font-size="56" text-anchor="middle" fill="#fff">{WebUtility.HtmlEncode(initials)}</text>
            <text x="120" y="290" font-family="sans-serif" font-size="14" text-anchor="middle" fill="#333">no photo on file</text>
            </svg>
            """;
    }
}
