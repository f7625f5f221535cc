namespace Kezekshi.Edge.Agent.Web;

/// <summary>The local web UI: section "Web" of appsettings.json (environment Web__…, command line --Web:…).</summary>
public sealed class WebOptions
{
    public const string Section = "Web";

    /// <summary>Serve the web UI at all (the gates run either way).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Where Kestrel listens, separated by ';'. Loopback only unless <see cref="AllowRemote"/> is set.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8080";

    /// <summary>
    /// Allow binding to an address other than loopback (e.g. 0.0.0.0 so the till PC can reach the gate PC).
    /// Off by default: the UI handles pupils' data and money, so exposing it is a decision IT makes on purpose.
    /// </summary>
    public bool AllowRemote { get; set; }

    /// <summary>A PKCS#12 (.pfx) certificate for https:// addresses in <see cref="Urls"/>; cookies are then marked Secure.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }

    /// <summary>How long a signed-in session lasts without signing in again.</summary>
    public int SessionHours { get; set; } = 12;

    /// <summary>Wrong passwords for one account before it is locked.</summary>
    public int MaxFailuresPerAccount { get; set; } = 5;

    /// <summary>Wrong passwords from one address (any account) before that address is locked.</summary>
    public int MaxFailuresPerAddress { get; set; } = 20;

    /// <summary>How long a lock-out lasts (and the window in which failures are counted for an address).</summary>
    public int LockoutMinutes { get; set; } = 15;

    /// <summary>Folder of pupil photos named &lt;pupil id&gt;.jpg (or .png); default &lt;DataDirectory&gt;/photos.</summary>
    public string? PhotosDirectory { get; set; }
}
