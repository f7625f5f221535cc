namespace Kezekshi.Edge.Biometrics;

/// <summary>
/// Why a biometric template may be matched. The only purposes there are: there is no marketing
/// purpose, and none may be added without a change to the law and to the consent form.
/// Access, attendance and safety come with a biometric consent; canteen payment and library each
/// need their own explicit consent.
/// </summary>
[Flags]
public enum BiometricPurpose : byte
{
    None = 0,
    Access = 1,
    Attendance = 2,
    Safety = 4,
    CanteenPayment = 8,
    Library = 16,
}

/// <summary>Which body part a template describes.</summary>
public enum BiometricModality : byte
{
    Face = 1,
    Palm = 2,
}

/// <summary>
/// Turns one image into one template (an L2-normalised vector) or says why it cannot. The face and
/// palm pipelines implement it; enrolment and the gate use it without knowing which model runs.
/// </summary>
public interface ITemplateExtractor
{
    BiometricModality Modality { get; }

    /// <summary>Length of the templates this extractor produces.</summary>
    int Dimensions { get; }

    /// <summary>Model name and version recorded with each template, so templates from another model are never compared.</summary>
    string ModelId { get; }

    TemplateExtraction Extract(RawImage image);
}

/// <summary>Pixels in memory: 8-bit, row-major, <paramref name="Channels"/> = 1 (grey) or 3 (RGB).</summary>
public sealed record RawImage(int Width, int Height, int Channels, byte[] Pixels);

/// <summary>The result of one extraction: a template with its quality, or the reason there is none.</summary>
public sealed record TemplateExtraction(float[]? Template, float Quality, string? RejectedBecause)
{
    public bool Succeeded => Template is not null;

    public static TemplateExtraction Rejected(string reason) => new(null, 0, reason);

    public static TemplateExtraction Of(float[] template, float quality) => new(template, quality, null);
}

/// <summary>The written names of <see cref="BiometricPurpose"/>, as on the consent form, in the audit log and on the wire.</summary>
public static class PurposeNames
{
    /// <summary>Every single purpose with its name, in the order of the consent form.</summary>
    public static readonly IReadOnlyList<(BiometricPurpose Purpose, string Name)> All =
    [
        (BiometricPurpose.Access, "access"),
        (BiometricPurpose.Attendance, "attendance"),
        (BiometricPurpose.Safety, "safety"),
        (BiometricPurpose.CanteenPayment, "canteen-payment"),
        (BiometricPurpose.Library, "library"),
    ];

    /// <summary>"access", "canteen-payment", …; several purposes are joined with commas.</summary>
    public static string Of(BiometricPurpose purposes) =>
        string.Join(",", All.Where(p => (purposes & p.Purpose) != 0).Select(p => p.Name));

    /// <summary>The purpose with this name, or null when there is none (there is no marketing purpose).</summary>
    public static BiometricPurpose? Parse(string? name) =>
        All.FirstOrDefault(p => p.Name == name) is { Name: not null } found ? found.Purpose : null;
}
