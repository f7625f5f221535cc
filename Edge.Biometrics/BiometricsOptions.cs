using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Storage;

namespace Kezekshi.Edge.Biometrics;

/// <summary>Configuration section <c>Biometrics</c>: the legal gate, where the data lives, and the matching rule.</summary>
public sealed class BiometricsOptions
{
    public const string Section = "Biometrics";

    /// <summary><c>Biometrics:Enabled</c>. Even when true, nothing runs until the DPIA is recorded (<see cref="BiometricsGuard"/>).</summary>
    public bool Enabled { get; set; }

    /// <summary><c>Biometrics:Dpia</c>: the data-protection impact assessment this school approved.</summary>
    public DpiaRecord Dpia { get; set; } = new();

    /// <summary><c>Biometrics:DatabasePath</c>: biometrics.db, apart from edge.db so it has its own permissions and can be wiped alone.</summary>
    public string DatabasePath { get; set; } = BiometricsDatabase.DefaultRelativePath;

    /// <summary><c>Biometrics:KeyPath</c>: the template key file (0600 on Linux, DPAPI on Windows).</summary>
    public string KeyPath { get; set; } = "biometrics.key";

    /// <summary><c>Biometrics:KeepRawImages</c>: keep enrolment photos (encrypted). Off: only templates are kept.</summary>
    public bool KeepRawImages { get; set; }

    /// <summary><c>Biometrics:UnusedTemplateExpiryDays</c>: a template not matched for this many days is deleted by the retention sweep.</summary>
    public int UnusedTemplateExpiryDays { get; set; } = 180;

    /// <summary><c>Biometrics:MinEnrolmentQuality</c>: images whose extraction quality is below this are rejected at enrolment.</summary>
    public float MinEnrolmentQuality { get; set; } = 0.5f;

    /// <summary><c>Biometrics:Match</c>: threshold, margin, look-alikes.</summary>
    public MatchPolicy Match { get; set; } = new();
}

/// <summary>The recorded data-protection impact assessment: reference, who approved it, and when.</summary>
public sealed class DpiaRecord
{
    /// <summary><c>Biometrics:Dpia:Reference</c>, e.g. the register number of the DPIA document.</summary>
    public string? Reference { get; set; }

    /// <summary><c>Biometrics:Dpia:ApprovedBy</c>: name and role of who approved it (head teacher, DPO).</summary>
    public string? ApprovedBy { get; set; }

    /// <summary><c>Biometrics:Dpia:ApprovedOn</c>: the approval date.</summary>
    public DateOnly? ApprovedOn { get; set; }
}

/// <summary>Biometrics are off for this school; the message names the setting to fill in.</summary>
public sealed class BiometricsDisabledException : Exception
{
    public BiometricsDisabledException() { }
    public BiometricsDisabledException(string message) : base(message) { }
    public BiometricsDisabledException(string message, Exception inner) : base(message, inner) { }
}
