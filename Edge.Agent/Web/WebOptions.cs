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

    /// <summary>Cameras at the tills for face payment (only used when biometrics are on and the model is loaded).</summary>
    public TillCameraOptions Till { get; set; } = new();

    /// <summary>A camera at the IT desk for enrolment ("Capture" in the console); uploads work without it.</summary>
    public CameraOptions? EnrolmentCamera { get; set; }
}

/// <summary>Where a camera's frames come from (ffmpeg reads it) and how long a capture may take.</summary>
public sealed class CameraOptions
{
    /// <summary>A V4L2 device (/dev/video0), an RTSP URL (rtsp://till-cam/stream) or a file (tests, demo).</summary>
    public string Url { get; set; } = "";

    /// <summary>Frame size ffmpeg scales to; keep the camera's own aspect ratio or faces are stretched.</summary>
    public int Width { get; set; } = 640;

    public int Height { get; set; } = 480;

    /// <summary>
    /// How long one capture may take, from starting ffmpeg to the first frame. The cashier is waiting: after this the
    /// till says the camera did not answer and the card is used. Raise it only for a slow RTSP camera.
    /// </summary>
    public int TimeoutMilliseconds { get; set; } = 1500;
}

/// <summary>Face payment cameras: one for every till, or one per till account.</summary>
public sealed class TillCameraOptions
{
    /// <summary>The camera of every till that has none of its own in <see cref="Cameras"/>; none if null.</summary>
    public CameraOptions? Camera { get; set; }

    /// <summary>A camera per till, keyed by the cashier account's name (the till is named after the account).</summary>
    public Dictionary<string, CameraOptions> Cameras { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The camera of the till used by <paramref name="account"/>, if it has one.</summary>
    public CameraOptions? For(string account) =>
        Cameras.TryGetValue(account, out var own) && !string.IsNullOrWhiteSpace(own.Url) ? own
        : Camera is { Url.Length: > 0 } shared ? shared : null;
}
