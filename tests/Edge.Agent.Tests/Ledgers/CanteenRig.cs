using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Ledgers;
using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Store;

namespace Kezekshi.Edge.Agent.Tests.Ledgers;

/// <summary>A demo school in a real SQLite file with a canteen menu and an open shift at till "till-1".</summary>
public sealed class CanteenRig : IDisposable
{
    /// <summary>Monday 23 November 2026, 12:30 in Almaty (UTC+5).</summary>
    public static readonly DateTimeOffset Lunch = new(2026, 11, 23, 12, 30, 0, TimeSpan.FromHours(5));

    /// <summary>Staff 4 is the demo school's canteen worker; staff 5 is office.</summary>
    public const long Cashier = 4, Supervisor = 5;

    private readonly TempDirectory _directory = new();

    public CanteenRig(CanteenOptions? options = null, ICentreReachability? centre = null, int pupils = 50)
    {
        Database = EdgeDatabase.Open(_directory.File("edge.db"));
        DemoSchool.Seed(Database, Lunch, pupils: pupils, classes: 5, staff: 10, visitors: 2);
        Ledger = new CanteenLedger(Database, options, centre, Almaty, Logs.CreateLogger("Kezekshi.Edge.Agent.Ledgers"));
        Plov = Ledger.UpsertMenuItem(new MenuItemDraft("plov", "Plov", 60_000, "hot", IsMeal: true, PhotoPath: "menu/plov.jpg"));
        Soup = Ledger.UpsertMenuItem(new MenuItemDraft("soup", "Chicken soup", 35_000, "hot", IsMeal: true, Allergens: ["celery"]));
        Bun = Ledger.UpsertMenuItem(new MenuItemDraft("bun", "Nut bun", 15_000, "bakery", Allergens: ["Nuts", "gluten", "milk"]));
        Tea = Ledger.UpsertMenuItem(new MenuItemDraft("tea", "Tea", 5_000, "drinks"));
        Shift = Ledger.OpenShift("till-1", Cashier, openingFloat: 200_000, Lunch.AddHours(-2));
    }

    /// <summary>UTC+5 all year, as Kazakhstan keeps it: fixed here so the tests do not depend on the machine's tzdata.</summary>
    public static readonly SchoolCalendar Almaty = new(TimeZoneInfo.CreateCustomTimeZone("UTC+05", TimeSpan.FromHours(5), "UTC+05", "UTC+05"));

    public EdgeDatabase Database { get; }
    public EndToEnd.RecordingLoggerProvider Logs { get; } = new();
    public CanteenLedger Ledger { get; }
    public MenuItem Plov { get; }
    public MenuItem Soup { get; }
    public MenuItem Bun { get; }
    public MenuItem Tea { get; }
    public TillShift Shift { get; }

    public string Path => Database.Path;

    public ChargeResult Sell(long pupilId, params MenuItem[] items) =>
        Ledger.Charge(new ChargeRequest(Guid.NewGuid().ToString(), Shift.Id, pupilId, [.. items.Select(i => new ChargeLine(i.Id))], Lunch));

    public long Scalar(string sql)
    {
        using var connection = Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public List<(string Type, string Payload)> Outbox(string prefix)
    {
        using var connection = Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT event_type, payload FROM outbox WHERE event_type LIKE $p || '%' ORDER BY seq";
        command.Parameters.AddWithValue("$p", prefix);
        using var reader = command.ExecuteReader();
        var rows = new List<(string, string)>();
        while (reader.Read()) rows.Add((reader.GetString(0), reader.GetString(1)));
        return rows;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}

/// <summary>A centre link the test switches on and off, as sync will.</summary>
public sealed class SwitchableCentre : ICentreReachability
{
    public bool IsCentreReachable { get; set; } = true;
}
