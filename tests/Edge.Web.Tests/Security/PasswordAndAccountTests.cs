using System.Diagnostics;
using System.Globalization;
using Kezekshi.Edge.Agent.Cli;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Web.Security;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Web.Tests.Security;

/// <summary>Password hashing, the address throttle, and the accounts CLI on a real SQLite file.</summary>
public sealed class PasswordAndAccountTests
{
    [Test]
    [Category("Unit")]
    public void A_hash_verifies_its_password_only_and_two_hashes_of_one_password_differ()
    {
        var first = PasswordHasher.Hash("a long passphrase", PasswordHasher.MinimumIterations);
        var second = PasswordHasher.Hash("a long passphrase", PasswordHasher.MinimumIterations);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(PasswordHasher.Verify("a long passphrase", first), Is.True);
            Assert.That(PasswordHasher.Verify("a long passphrasE", first), Is.False);
            Assert.That(first.Salt, Is.Not.EqualTo(second.Salt), "per-account salt");
            Assert.That(first.Hash, Is.Not.EqualTo(second.Hash));
            Assert.That(first.Hash, Has.Length.EqualTo(32));
            Assert.That(PasswordHasher.DefaultIterations, Is.GreaterThanOrEqualTo(600_000));
            Assert.Throws<ArgumentOutOfRangeException>(() => PasswordHasher.Hash("x", 1000));
        }
    }

    [Test]
    [Category("Unit")]
    public void One_time_passwords_avoid_look_alike_characters_and_weak_passwords_are_named()
    {
        var passwords = Enumerable.Range(0, 50).Select(_ => PasswordHasher.NewOneTimePassword()).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(passwords, Is.Unique);
            Assert.That(passwords.All(p => p.Length == 12 && !p.Any(c => "0O1lI".Contains(c, StringComparison.Ordinal))), Is.True);
            Assert.That(PasswordHasher.Weakness("short", "aigerim"), Does.Contain("10 characters"));
            Assert.That(PasswordHasher.Weakness("aigerim-2026-passphrase", "aigerim"), Does.Contain("account name"));
            Assert.That(PasswordHasher.Weakness("aaaaaaaaaaaa", "x1"), Does.Contain("different characters"));
            Assert.That(PasswordHasher.Weakness("green tea at noon", "aigerim"), Is.Null);
        }
    }

    [Test]
    [Category("Unit")]
    public void An_address_is_locked_after_its_limit_and_the_lock_ends_with_the_window()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));
        var throttle = new LoginThrottle(3, TimeSpan.FromMinutes(15), time);
        Assert.That(throttle.RecordFailure("10.0.0.5"), Is.Null);
        Assert.That(throttle.RecordFailure("10.0.0.5"), Is.Null);
        var locked = throttle.RecordFailure("10.0.0.5");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(locked, Is.EqualTo(time.GetUtcNow().AddMinutes(15)));
            Assert.That(throttle.LockedUntil("10.0.0.6"), Is.Null, "other addresses are not affected");
        }
        time.Now += TimeSpan.FromMinutes(16);
        Assert.That(throttle.LockedUntil("10.0.0.5"), Is.Null);
    }

    [Test]
    [Category("Integration")]
    public void The_users_CLI_adds_lists_links_resets_and_refuses_bad_input_with_a_clear_message()
    {
        using var directory = new TempDirectory();
        string db = directory.File("edge.db");
        DemoSchool.Seed(EdgeDatabase.Open(db), DateTimeOffset.UtcNow);
        try
        {
            var output = new StringWriter(CultureInfo.InvariantCulture);
            int added = UsersCommand.Execute(null, db, output, store => UsersCommand.Add(store, "aigerim.k", "cashier", output, staffId: 4));
            int duplicate = UsersCommand.Execute(null, db, output, store => UsersCommand.Add(store, "aigerim.k", "cashier", output));
            int badRole = UsersCommand.Execute(null, db, output, store => UsersCommand.Add(store, "nurlan", "chef", output));
            int noStaff = UsersCommand.Execute(null, db, output, store => { store.LinkStaff("aigerim.k", 9999); return 0; });
            int reset = UsersCommand.Execute(null, db, output, store => UsersCommand.Reset(store, "aigerim.k", output));
            int listed = UsersCommand.Execute(null, db, output, store => UsersCommand.List(store, output));
            string text = output.ToString();
            var account = new AccountStore(EdgeDatabase.Open(db)).Find("AIGERIM.K");
            using (Assert.EnterMultipleScope())
            {
                Assert.That((added, duplicate, badRole, noStaff, reset, listed), Is.EqualTo((0, 2, 2, 2, 0, 0)));
                Assert.That(text, Does.Match("created. One-time password: [A-Za-z0-9]{12}"));
                Assert.That(text, Does.Contain("already exists"));
                Assert.That(text, Does.Contain("'chef' is not a role. Use one of: cashier, librarian, office, it-admin."));
                Assert.That(text, Does.Contain("no active staff member with ID 9999"));
                Assert.That(text, Does.Contain("one-time password not yet changed"));
                Assert.That(account, Is.Not.Null, "names are case-insensitive");
                Assert.That(account!.StaffId, Is.EqualTo(4));
                Assert.That(account.Role, Is.EqualTo(WebRole.Cashier));
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
        }
    }

    /// <summary>
    /// Prints what one PBKDF2 hash at the production count costs on this machine (a figure for docs/web-ui.md, not an
    /// assertion on time: the CI box is shared).
    /// </summary>
    [Test]
    [Category("Unit")]
    public void The_cost_of_one_production_hash_is_reported()
    {
        PasswordHasher.Hash("warm-up", PasswordHasher.MinimumIterations);
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var hash = PasswordHasher.Hash("a long passphrase");
        watch.Stop();
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        // CPU time is what a hash costs the machine; wall time also counts waiting for a core on a busy box.
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"PBKDF2-HMAC-SHA256, {hash.Iterations:N0} iterations: {cpu.TotalMilliseconds:F0} ms CPU, {watch.Elapsed.TotalMilliseconds:F0} ms wall (load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]})"));
        Assert.That(hash.Iterations, Is.EqualTo(PasswordHasher.DefaultIterations));
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }
}
