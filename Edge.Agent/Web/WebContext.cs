using Kezekshi.Edge.Agent.Runtime;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Web.Live;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Web;

/// <summary>What the web UI reads and writes: the store, the running gates (if any), its options and clock.</summary>
/// <remarks>
/// The runtime is a function because under <c>run</c> the gates are built on the host's background thread and
/// may appear after the web UI started; pages that need them say "the gates are starting" until then.
/// </remarks>
public sealed class WebContext
{
    public required EdgeDatabase Database { get; init; }

    public Func<AgentRuntime?> Runtime { get; init; } = () => null;

    public WebOptions Options { get; init; } = new();

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public ILoggerFactory Loggers { get; init; } = NullLoggerFactory.Instance;

    /// <summary>The gates' decisions for the live log and the board.</summary>
    public LiveFeed Feed { get; init; } = new();

    /// <summary>Where pupil photos are looked for (&lt;id&gt;.jpg / .png).</summary>
    public string? PhotosDirectory { get; init; }

    /// <summary>PBKDF2 iterations for passwords set through the UI (tests lower it; stored per hash).</summary>
    public int PasswordIterations { get; init; } = Security.PasswordHasher.DefaultIterations;

    /// <summary>The agent's canteen ledger (with its configured money rules and centre reachability); a default one over <see cref="Database"/> if null.</summary>
    public Ledgers.Canteen.CanteenLedger? Canteen { get; init; }

    /// <summary>The agent's library desk; a default one over <see cref="Database"/> if null.</summary>
    public Ledgers.Library.LibraryDesk? Library { get; init; }

    /// <summary>
    /// The face pipeline when the school turned biometrics on (DPIA recorded); null otherwise. The till's face button,
    /// consents and enrolment in the IT console use it; without it they say biometrics are off and cards work as before.
    /// </summary>
    public Recognition.FaceRecognition? Face { get; init; }

    /// <summary>Why biometrics could not be opened although configured (e.g. biometrics.db unreadable); shown in the console.</summary>
    public string? BiometricsProblem { get; init; }

    /// <summary>Where the pages, scripts and styles are (default: wwwroot beside the executable).</summary>
    public string WebRoot { get; init; } = Path.Combine(AppContext.BaseDirectory, "wwwroot");
}
