using System.Net;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Runtime;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Web;
using Kezekshi.Edge.Agent.Web.Live;
using Kezekshi.Edge.Agent.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Web.Tests;

/// <summary>
/// The demo school in a temp SQLite file with the web UI served in this process on a free loopback port, one
/// account per role (known passwords, already changed), a small canteen menu and some money on pupils' accounts.
/// </summary>
public sealed class WebSchool : IAsyncDisposable
{
    public const string Password = "correct-horse-battery";
    public const long CashierStaffId = 4; // the demo school's staff 4 works in the canteen
    public const long LibrarianStaffId = 3;

    private WebSchool(TempDirectory directory, EdgeDatabase database, WebContext context, WebApplication app, Uri baseAddress)
    {
        Directory = directory;
        Database = database;
        Context = context;
        App = app;
        BaseAddress = baseAddress;
    }

    public TempDirectory Directory { get; }
    public EdgeDatabase Database { get; }
    public WebContext Context { get; }
    public WebApplication App { get; }
    public Uri BaseAddress { get; }
    public CanteenLedger Canteen => new(Database);
    public AccountStore Accounts => new(Database) { Iterations = PasswordHasher.MinimumIterations };

    /// <summary>Seeds the school and starts the web UI. <paramref name="runtime"/> makes the board and console see real gates.</summary>
    /// <param name="face">The face pipeline over a biometrics module (see <see cref="FaceSchool"/>); owned and disposed by the school.</param>
    public static async Task<WebSchool> StartAsync(Func<TempDirectory, EdgeDatabase, Task<AgentRuntime>>? runtime = null, WebOptions? options = null, TempDirectory? directory = null,
        Func<TempDirectory, Kezekshi.Edge.Agent.Recognition.FaceRecognition>? face = null)
    {
        directory ??= new TempDirectory();
        var database = EdgeDatabase.Open(directory.File("edge.db"));
        var start = ShiftedTimeProvider.NextSchoolMorning(DateTimeOffset.UtcNow, new TimeOnly(7, 40));
        DemoSchool.Seed(database, start);
        // The minimum iteration count keeps the suite quick on a loaded 2-core box; production uses 600,000 (stored per hash).
        var accounts = new AccountStore(database) { Iterations = PasswordHasher.MinimumIterations };
        accounts.Add("cashier1", WebRole.Cashier, Password, mustChangePassword: false, staffId: CashierStaffId);
        accounts.Add("librarian1", WebRole.Librarian, Password, mustChangePassword: false, staffId: LibrarianStaffId);
        accounts.Add("office1", WebRole.Office, Password, mustChangePassword: false);
        accounts.Add("itadmin1", WebRole.ItAdmin, Password, mustChangePassword: false);
        SeedCanteen(database);

        var recognition = face?.Invoke(directory);
        var agent = runtime is null ? null : await runtime(directory, database).ConfigureAwait(false);
        var context = new WebContext
        {
            Database = database,
            Runtime = () => agent,
            Options = options ?? new WebOptions { Urls = "http://127.0.0.1:0" },
            PhotosDirectory = directory.File("photos"),
            WebRoot = Path.Combine(AppContext.BaseDirectory, "wwwroot"),
            PasswordIterations = PasswordHasher.MinimumIterations,
            Face = recognition,
        };
        if (agent is not null) context.Feed.Attach(agent);
        var app = EdgeWebHost.Create(context);
        await app.StartAsync().ConfigureAwait(false);
        var url = EdgeWebHost.ListeningUrls(app).Single();
        return new WebSchool(directory, database, context, app, new Uri(url.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal)));
    }

    /// <summary>Menu: plov (meal), borscht (meal), nut cookie (nuts), apple juice, milk porridge (milk). Pupils 1–50 get 2,000 ₸.</summary>
    private static void SeedCanteen(EdgeDatabase database)
    {
        var ledger = new CanteenLedger(database);
        ledger.UpsertMenuItem(new MenuItemDraft("plov", "Plov", 45_000, "hot", IsMeal: true));
        ledger.UpsertMenuItem(new MenuItemDraft("borscht", "Borscht", 35_000, "hot", IsMeal: true));
        ledger.UpsertMenuItem(new MenuItemDraft("nut-cookie", "Nut cookie", 15_000, "bakery", Allergens: ["nuts"]));
        ledger.UpsertMenuItem(new MenuItemDraft("apple-juice", "Apple juice", 20_000, "drinks"));
        ledger.UpsertMenuItem(new MenuItemDraft("porridge", "Milk porridge", 25_000, "hot", IsMeal: true, Allergens: ["milk"]));
        for (int pupil = 1; pupil <= 50; pupil++)
            ledger.ApplyTopUp($"test-topup-{pupil}", pupil, 200_000, DateTimeOffset.UtcNow.AddDays(-1));
    }

    public long MenuItemId(string code) => Canteen.GetMenu().Single(m => m.Code == code).Id;

    /// <summary>An HTTP client with its own cookie jar, not signed in.</summary>
    public HttpClient NewClient(CookieContainer? cookies = null) =>
        new(new HttpClientHandler { CookieContainer = cookies ?? new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = BaseAddress };

    public async ValueTask DisposeAsync()
    {
        try
        {
            await App.StopAsync().ConfigureAwait(false);
            await App.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            Context.Face?.Dispose();
            Context.Face?.Module.Dispose();
            SqliteConnection.ClearAllPools();
            Directory.Dispose();
        }
    }
}
