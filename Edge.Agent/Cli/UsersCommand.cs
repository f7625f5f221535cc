using System.CommandLine;
using System.Globalization;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Web.Security;

namespace Kezekshi.Edge.Agent.Cli;

/// <summary>
/// <c>kezekshi-edge users add|reset|list|disable|enable</c>: the web UI's staff accounts, in the agent's database.
/// New and reset accounts get a one-time password, printed once; the person chooses their own at first sign-in.
/// </summary>
public static class UsersCommand
{
    public static Command Create()
    {
        var command = new Command("users", "Create, reset, list, disable or enable the web UI's staff accounts (cashier, librarian, office, it-admin).");
        var config = new Option<string?>("--config") { Description = "The configuration file (default: appsettings.json beside the executable); the database is Edge:DatabasePath or <Edge:DataDirectory>/edge.db.", Recursive = true };
        var database = new Option<string?>("--database") { Description = "The database file, instead of the one the configuration names.", Recursive = true };
        command.Options.Add(config);
        command.Options.Add(database);

        var name = new Option<string>("--name") { Description = "The account name people type to sign in, e.g. aigerim.k.", Required = true };
        var role = new Option<string>("--role") { Description = "cashier, librarian, office or it-admin.", Required = true };

        var staff = new Option<long?>("--staff-id") { Description = "The staff member (roster ID) this account is: the ledgers record sales, refunds and loans against it." };
        var add = new Command("add", "Create an account and print its one-time password.") { name, role, staff };
        add.SetAction(p => Execute(p.GetValue(config), p.GetValue(database), Console.Out, store => Add(store, p.GetValue(name)!, p.GetValue(role)!, Console.Out, p.GetValue(staff))));
        var linkName = new Option<string>("--name") { Description = "The account.", Required = true };
        var linkStaff = new Option<long>("--staff-id") { Description = "The staff member's roster ID.", Required = true };
        var link = new Command("link", "Link an account to the staff member it belongs to (a cashier needs this to open a till shift).") { linkName, linkStaff };
        link.SetAction(p => Execute(p.GetValue(config), p.GetValue(database), Console.Out, store =>
        {
            store.LinkStaff(p.GetValue(linkName)!, p.GetValue(linkStaff));
            Console.Out.WriteLine($"Account '{p.GetValue(linkName)!.Trim()}' is staff member {p.GetValue(linkStaff)}.");
            return 0;
        }));
        var resetName = new Option<string>("--name") { Description = "The account to reset.", Required = true };
        var reset = new Command("reset", "Give an account a new one-time password, unlock it and sign it out everywhere.") { resetName };
        reset.SetAction(p => Execute(p.GetValue(config), p.GetValue(database), Console.Out, store => Reset(store, p.GetValue(resetName)!, Console.Out)));
        var list = new Command("list", "List the accounts with their role and state.");
        list.SetAction(p => Execute(p.GetValue(config), p.GetValue(database), Console.Out, store => List(store, Console.Out)));
        var disableName = new Option<string>("--name") { Description = "The account.", Required = true };
        var disable = new Command("disable", "Stop an account signing in (and sign it out).") { disableName };
        disable.SetAction(p => Execute(p.GetValue(config), p.GetValue(database), Console.Out, store => SetDisabled(store, p.GetValue(disableName)!, true, Console.Out)));
        var enableName = new Option<string>("--name") { Description = "The account.", Required = true };
        var enable = new Command("enable", "Let a disabled account sign in again.") { enableName };
        enable.SetAction(p => Execute(p.GetValue(config), p.GetValue(database), Console.Out, store => SetDisabled(store, p.GetValue(enableName)!, false, Console.Out)));
        command.Subcommands.Add(add);
        command.Subcommands.Add(reset);
        command.Subcommands.Add(link);
        command.Subcommands.Add(list);
        command.Subcommands.Add(disable);
        command.Subcommands.Add(enable);
        return command;
    }

    /// <summary>Opens the store named by the configuration (or <paramref name="databasePath"/>) and runs <paramref name="action"/>; returns the exit code.</summary>
    internal static int Execute(string? configPath, string? databasePath, TextWriter output, Func<AccountStore, int> action)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(action);
        try
        {
            string path = databasePath ?? AgentConfiguration.Load(configPath, []).Options.ResolvedDatabasePath;
            if (databasePath is null && !File.Exists(path))
            {
                output.WriteLine($"The database {path} does not exist yet. Start the agent once (or run install-service), or name the file with --database.");
                return 2;
            }
            return action(new AccountStore(EdgeDatabase.Open(path)));
        }
        catch (Exception e) when (e is AccountException or StoreException or AgentConfigurationException)
        {
            output.WriteLine(e.Message);
            return 2;
        }
    }

    internal static int Add(AccountStore store, string name, string role, TextWriter output, long? staffId = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(output);
        if (!WebRoles.TryParse(role, out var parsed))
        {
            output.WriteLine($"'{role}' is not a role. Use one of: {string.Join(", ", WebRoles.Names)}.");
            return 2;
        }
        string password = PasswordHasher.NewOneTimePassword();
        store.Add(name, parsed, password, staffId: staffId);
        output.WriteLine($"Account '{name.Trim()}' ({WebRoles.Format(parsed)}) created. One-time password: {password}");
        output.WriteLine("Give it to the person privately; they choose their own password when they first sign in. It is not shown again.");
        return 0;
    }

    internal static int Reset(AccountStore store, string name, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(output);
        string password = PasswordHasher.NewOneTimePassword();
        store.SetPassword(name, password, mustChangePassword: true);
        output.WriteLine($"Account '{name.Trim()}' reset and unlocked; its sessions are signed out. One-time password: {password}");
        return 0;
    }

    internal static int List(AccountStore store, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(output);
        var accounts = store.List();
        if (accounts.Count == 0)
        {
            output.WriteLine("No accounts yet. Create one with: kezekshi-edge users add --role it-admin --name <name>");
            return 0;
        }
        output.WriteLine($"{"name",-24} {"role",-10} {"staff",-6} state");
        foreach (var a in accounts)
        {
            string state = a.Disabled ? "disabled"
                : a.LockedUntil is { } until && until > DateTimeOffset.UtcNow ? "locked until " + until.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)
                : a.MustChangePassword ? "one-time password not yet changed" : "active";
            output.WriteLine($"{a.Name,-24} {WebRoles.Format(a.Role),-10} {a.StaffId?.ToString(CultureInfo.InvariantCulture) ?? "-",-6} {state}");
        }
        return 0;
    }

    internal static int SetDisabled(AccountStore store, string name, bool disabled, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(output);
        store.SetDisabled(name, disabled);
        output.WriteLine($"Account '{name.Trim()}' {(disabled ? "disabled and signed out" : "enabled")}.");
        return 0;
    }
}
