using System.CommandLine;
using System.Globalization;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Store;

namespace Kezekshi.Edge.Agent.Cli;

/// <summary>
/// Hidden <c>till-soak</c>: a till charging a repeatable stream of sales (<see cref="DemoCanteen.Sale"/>) into a store,
/// printing <c>ACK n transaction status</c> only after each sale is committed. The crash test kills it with SIGKILL at
/// random points and checks that every acknowledged sale is in the ledger exactly once.
/// </summary>
public static class TillSoakCommand
{
    public static Command Create()
    {
        var database = new Option<string>("--db") { Description = "The store file (created and seeded with the demo school if new).", Required = true };
        var from = new Option<long>("--from") { Description = "Number of the first sale (a restarted till resends from its last unacknowledged sale).", DefaultValueFactory = _ => 0 };
        var count = new Option<long>("--count") { Description = "How many sales to send.", DefaultValueFactory = _ => 1_000_000 };
        var pupils = new Option<int>("--pupils") { Description = "Pupils in the demo school.", DefaultValueFactory = _ => 50 };
        var command = new Command("till-soak", "Test helper: charge a repeatable stream of canteen sales, acknowledging each after commit.") { Hidden = true };
        command.Options.Add(database);
        command.Options.Add(from);
        command.Options.Add(count);
        command.Options.Add(pupils);
        command.SetAction(parse => Run(parse.GetValue(database)!, parse.GetValue(from), parse.GetValue(count), parse.GetValue(pupils), Console.Out));
        return command;
    }

    public static int Run(string path, long from, long count, int pupils, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var at = new DateTimeOffset(2026, 11, 23, 12, 30, 0, TimeSpan.FromHours(5));
        var database = EdgeDatabase.Open(path);
        DemoSchool.Seed(database, at, pupils: pupils, classes: Math.Max(1, pupils / 25), staff: 10, visitors: 1);
        var ledger = new CanteenLedger(database);
        var (menu, shift) = DemoCanteen.Seed(ledger, pupils, at);
        output.WriteLine("READY");
        output.Flush();
        for (long n = from; n < from + count; n++)
        {
            var result = ledger.Charge(DemoCanteen.Sale(n, pupils, menu, shift.Id, at));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ACK {n} {result.TransactionId} {result.Status}"));
            output.Flush();
            if (!result.Succeeded) return 2;
        }
        return 0;
    }
}
