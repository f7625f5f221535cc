using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Runtime;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Web;
using Kezekshi.Edge.Agent.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Demo;

/// <summary>
/// The demo's web UI: one account per role with a one-time password printed in the demo's log, the demo canteen
/// (menu, money on the first pupils' accounts, pupil 12's parent banning nuts), and the UI served on loopback
/// while the morning runs.
/// </summary>
public static class DemoWebUi
{
    /// <summary>Account name, role, and the demo school's staff member it is.</summary>
    public static readonly IReadOnlyList<(string Name, WebRole Role, long StaffId)> Accounts =
    [
        ("cashier", WebRole.Cashier, DemoCanteen.Cashier),
        ("librarian", WebRole.Librarian, 1),
        ("office", WebRole.Office, 5),
        ("it", WebRole.ItAdmin, 6),
    ];

    /// <summary>Creates the demo accounts and writes their one-time passwords to <paramref name="output"/>.</summary>
    public static void CreateAccounts(EdgeDatabase database, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var store = new AccountStore(database);
        foreach (var (name, role, staff) in Accounts)
        {
            string password = PasswordHasher.NewOneTimePassword();
            if (store.Find(name) is null) store.Add(name, role, password, mustChangePassword: true, staffId: staff);
            else store.SetPassword(name, password, mustChangePassword: true);
            output.WriteLine($"      web account {name,-10} ({WebRoles.Format(role)}): one-time password {password}");
        }
    }

    /// <summary>Menu and money for the till, and one parent's ban to try the alert on.</summary>
    public static void SeedCanteen(EdgeDatabase database, DateTimeOffset at)
    {
        var ledger = new CanteenLedger(database);
        DemoCanteen.Seed(ledger, pupils: 100, at);
        if (ledger.GetBans(12).Count == 0) ledger.BanAllergen(12, "nuts", "demo parent of pupil 12", at);
    }

    /// <summary>Starts the UI on 127.0.0.1:<paramref name="port"/>; returns null (and says why) if it cannot.</summary>
    public static async Task<WebApplication?> StartAsync(EdgeDatabase database, AgentRuntime runtime, int port, ILoggerFactory loggers, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(output);
        var context = new WebContext
        {
            Database = database,
            Runtime = () => runtime,
            Options = new WebOptions { Urls = $"http://127.0.0.1:{port}" },
            Loggers = loggers,
            PhotosDirectory = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(database.Path))!, "photos"),
        };
        context.Feed.Attach(runtime);
        try
        {
            var app = EdgeWebHost.Create(context);
            await app.StartAsync().ConfigureAwait(false);
            await output.WriteLineAsync($"      web UI: {string.Join(", ", EdgeWebHost.ListeningUrls(app))} (till, library, board, office, roll-call, IT console)").ConfigureAwait(false);
            return app;
        }
        catch (Exception e) when (e is WebConfigurationException or IOException or InvalidOperationException)
        {
            await output.WriteLineAsync($"      web UI not started: {e.Message} (choose another port with --web-port, or 0 for none)").ConfigureAwait(false);
            return null;
        }
    }
}
