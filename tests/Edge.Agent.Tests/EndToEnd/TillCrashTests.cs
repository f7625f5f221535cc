using System.Globalization;
using System.Runtime.Versioning;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Store;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Agent.Tests.EndToEnd;

/// <summary>
/// A till process (<c>kezekshi-edge till-soak</c>) charging a stream of sales is killed with SIGKILL at random points,
/// again and again, and restarted the way a till retries: resending its last few sales with the same keys.
/// </summary>
[Category("EndToEnd")]
[SupportedOSPlatform("linux")]
public sealed class TillCrashTests
{
    private const int Pupils = 50;
    private const long TopUp = 10_000_000;

    [SetUp]
    public void RequireLinux()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("SIGKILL of a child process is tested on Linux.");
        Assert.That(File.Exists(AgentProcess.AgentDll), $"{AgentProcess.AgentDll} is built beside the tests");
    }

    [Test]
    public async Task No_acknowledged_charge_is_lost_or_doubled_and_the_ledger_balances_across_kill_9_at_random_points()
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        TestContext.Out.WriteLine($"Random seed {seed}");
        using var directory = new TempDirectory();
        string path = directory.File("till.db");
        var acknowledged = new Dictionary<long, long>(); // sale number -> transaction ID
        long next = 0;
        int kills = 0, killedBeforeReady = 0;
        for (int round = 0; round < 14; round++)
        {
            using var till = AgentProcess.Start(directory.Path, "till-soak", "--db", path, "--from", next.ToString(CultureInfo.InvariantCulture), "--pupils", Pupils.ToString(CultureInfo.InvariantCulture));
            // Some kills land during start-up and seeding, most in the stream of sales at a random moment.
            if (round % 5 == 1)
            {
                await Task.Delay(random.Next(0, 600));
            }
            else
            {
                await Eventually.UntilAsync(() => till.Output.Contains("READY", StringComparison.Ordinal) || till.HasExited, "the till is ready", TimeSpan.FromSeconds(60));
                Assert.That(till.HasExited, Is.False, till.Output);
                await Task.Delay(random.Next(5, 400));
            }
            bool ready = till.Output.Contains("READY", StringComparison.Ordinal);
            till.KillHard();
            await till.WaitForExitAsync(TimeSpan.FromSeconds(30));
            kills++;
            if (!ready) killedBeforeReady++;

            long last = next - 1;
            foreach (var line in till.Output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("ACK ", StringComparison.Ordinal)))
            {
                var parts = line.Split(' ');
                if (parts.Length != 4 || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out long n) || !long.TryParse(parts[2], CultureInfo.InvariantCulture, out long id)) continue;
                Assert.That(parts[3], Is.EqualTo("Accepted").Or.EqualTo("Replayed"), line);
                if (acknowledged.TryGetValue(n, out long earlier)) Assert.That(id, Is.EqualTo(earlier), $"sale {n} was acknowledged twice with different transactions");
                acknowledged[n] = id;
                last = Math.Max(last, n);
            }
            CheckStore(path, acknowledged);
            // A till that crashed resends from its last acknowledged sale, and some before it, with the same keys.
            next = Math.Max(0, last + 1 - random.Next(0, 4));
        }

        int acknowledgedBetweenKills = acknowledged.Count;
        Assert.That(acknowledgedBetweenKills, Is.GreaterThan(0), "the kills landed while sales were being acknowledged");

        // Finally a run to its end, undisturbed: the ledger goes on where it was.
        using (var till = AgentProcess.Start(directory.Path, "till-soak", "--db", path, "--from", next.ToString(CultureInfo.InvariantCulture), "--count", "20", "--pupils", Pupils.ToString(CultureInfo.InvariantCulture)))
        {
            Assert.That(await till.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, till.Output);
            foreach (var line in till.Output.Split('\n').Where(l => l.StartsWith("ACK ", StringComparison.Ordinal)))
                acknowledged[long.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture)] = long.Parse(line.Split(' ')[2], CultureInfo.InvariantCulture);
        }
        CheckStore(path, acknowledged);
        TestContext.Out.WriteLine($"{kills} kills ({killedBeforeReady} before the till was ready), {acknowledgedBetweenKills} sales acknowledged between kills, {acknowledged.Count} in all");
        Assert.That(acknowledged.Keys.Max(), Is.GreaterThanOrEqualTo(next + 19), "the last run charged its 20 sales");
    }

    /// <summary>Everything the till acknowledged is stored once, with the content of its sale number; the books balance.</summary>
    private static void CheckStore(string path, Dictionary<long, long> acknowledged)
    {
        SqliteConnection.ClearAllPools();
        var database = EdgeDatabase.Open(path);
        using (var connection = database.Connect())
        using (var check = connection.CreateCommand())
        {
            check.CommandText = "PRAGMA integrity_check";
            Assert.That(check.ExecuteScalar(), Is.EqualTo("ok"));
        }
        if (LedgerSchool(database) is not { } ledger) { Assert.That(acknowledged, Is.Empty, "nothing acknowledged before the school existed"); return; }
        Assert.That(ledger.Verify().Problems, Is.Empty);

        var menu = ledger.GetMenu().ToDictionary(m => m.Id);
        var stored = new Dictionary<long, (long Id, long Pupil, long Total)>();
        using (var connection = database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT idempotency_key, id, pupil_id, total FROM canteen_transactions WHERE kind = 'charge'";
            using var reader = command.ExecuteReader();
            while (reader.Read())
                stored.Add(long.Parse(reader.GetString(0)["sale-".Length..], CultureInfo.InvariantCulture), (reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
        }
        foreach (var (n, id) in acknowledged)
        {
            Assert.That(stored.TryGetValue(n, out var row), Is.True, $"acknowledged sale {n} is lost");
            Assert.That(row.Id, Is.EqualTo(id), $"sale {n}");
        }
        var shift = ledger.GetOpenShift(DemoCanteen.Till)!;
        var menuList = ledger.GetMenu().OrderBy(m => m.Id).ToList();
        var expectedSpent = new Dictionary<long, long>();
        foreach (var (n, row) in stored)
        {
            var sale = DemoCanteen.Sale(n, Pupils, [.. menuList.OrderBy(m => m.Id)], shift.Id, DateTimeOffset.UnixEpoch);
            long total = sale.Lines.Sum(l => menu[l.MenuItemId].Price * l.Quantity);
            Assert.That((row.Pupil, row.Total), Is.EqualTo((sale.PupilId!.Value, total)), $"sale {n} is stored with its own content");
            expectedSpent[row.Pupil] = expectedSpent.GetValueOrDefault(row.Pupil) + total;
        }
        for (long pupil = 1; pupil <= Pupils; pupil++)
        {
            if (ledger.GetBalance(pupil) == 0) continue; // top-up not reached before a kill during seeding
            Assert.That(ledger.GetBalance(pupil), Is.EqualTo(TopUp - expectedSpent.GetValueOrDefault(pupil)), $"pupil {pupil}: each sale charged once");
        }
        using (var connection = database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT (SELECT COUNT(*) FROM outbox WHERE event_type = 'canteen.charge') - (SELECT COUNT(*) FROM canteen_transactions WHERE kind = 'charge')";
            Assert.That(command.ExecuteScalar(), Is.Zero, "every sale has its outbox event, and no event is without its sale");
        }
        SqliteConnection.ClearAllPools();
    }

    private static CanteenLedger? LedgerSchool(EdgeDatabase database)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM canteen_menu_items";
        return (long)command.ExecuteScalar()! == 6 ? new CanteenLedger(database) : null;
    }
}
