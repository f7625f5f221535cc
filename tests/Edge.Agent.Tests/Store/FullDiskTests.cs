using System.Diagnostics;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Store;
using Microsoft.Data.Sqlite;
using Kezekshi.Edge.Agent.Tests.EndToEnd;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Tests.Store;

/// <summary>
/// A real full disk: a small tmpfs mounted for the test (needs root, which CI has; skipped otherwise).
/// </summary>
[Category("Integration")]
[NonParallelizable]
public class FullDiskTests
{
    private string _mount = "";

    [SetUp]
    public void Mount()
    {
        _mount = Path.Combine(Path.GetTempPath(), "kezekshi-full-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_mount);
        if (!OperatingSystem.IsLinux() || Run("mount", $"-t tmpfs -o size=1m tmpfs {_mount}") != 0)
            Assert.Ignore("Cannot mount a small tmpfs here (needs root on Linux); the full-disk test runs in CI.");
    }

    [TearDown]
    public void Unmount()
    {
        SqliteConnection.ClearAllPools();
        Run("umount", _mount);
        try { Directory.Delete(_mount, recursive: true); } catch (IOException) { }
    }

    private static int Run(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        process.WaitForExit();
        return process.ExitCode;
    }

    private static void FillDisk(string path)
    {
        using var filler = new FileStream(path, FileMode.Create);
        var block = new byte[4096];
        try
        {
            while (true) filler.Write(block);
        }
        catch (IOException)
        {
            // ENOSPC: the disk is full, which is the point.
        }
    }

    [Test]
    public async Task Passages_written_while_the_disk_is_full_are_kept_and_stored_once_space_returns()
    {
        string dbPath = Path.Combine(_mount, "edge.db");
        var database = EdgeDatabase.Open(dbPath);
        DemoSchool.Seed(database, DateTimeOffset.UtcNow, pupils: 20, classes: 2, staff: 2, visitors: 1);
        var logs = new RecordingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var recorder = new PassageRecorder(database, null, loggers.CreateLogger("test"));
        var holder = new Holder(HolderKind.Pupil, 3, "", true, 1, null);
        Passage Make(string uid) => new()
        {
            Uid = uid, Gate = "gate1", Direction = Direction.Entry, CardNumber = 42, Holder = holder,
            Decision = new GateDecision(true, DecisionReason.Granted, null), DecidedAt = DateTimeOffset.UtcNow, Outcome = PassageOutcome.Passed,
        };
        await recorder.RecordAsync(Make("before-full"));

        string filler = Path.Combine(_mount, "filler.bin");
        FillDisk(filler);
        var pending = Enumerable.Range(0, 50).Select(i => recorder.RecordAsync(Make($"while-full-{i}"))).ToList();
        var until = DateTime.UtcNow.AddSeconds(15);
        string[] Lines() => [.. logs.Entries.Select(e => e.Message)];
        while (!Lines().Any(l => l.Contains("full", StringComparison.Ordinal)) && DateTime.UtcNow < until) await Task.Delay(50);
        Assert.That(Lines(), Has.Some.Contains("is full").And.Some.Contains("free space"), "the log says what happened and what to do");
        Assert.That(pending.Any(t => t.IsCompleted), Is.False, "nothing is reported as stored while the disk is full");

        File.Delete(filler);
        await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(30));

        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), COUNT(DISTINCT passage_uid) FROM passages";
        using (var reader = command.ExecuteReader())
        {
            reader.Read();
            Assert.That(reader.GetInt64(0), Is.EqualTo(51));
            Assert.That(reader.GetInt64(1), Is.EqualTo(51));
        }
        command.CommandText = "SELECT COUNT(*) FROM outbox";
        Assert.That(command.ExecuteScalar(), Is.EqualTo(51L), "every passage has its outbox event");
        command.CommandText = "PRAGMA integrity_check";
        Assert.That(command.ExecuteScalar(), Is.EqualTo("ok"));
        command.CommandText = "SELECT COUNT(*) FROM pupils";
        Assert.That(command.ExecuteScalar(), Is.EqualTo(20L), "nothing stored before is lost");
    }

    [Test]
    public void Actuation_journal_on_a_full_disk_reports_the_failure_instead_of_stopping_the_gate()
    {
        using var journal = new ActuationJournal(Path.Combine(_mount, "actuations.journal"));
        FillDisk(Path.Combine(_mount, "filler.bin"));
        var passage = new Passage
        {
            Uid = "x", Gate = "gate1", Direction = Direction.Entry, CardNumber = 1,
            Decision = GateDecision.Deny(DecisionReason.UnknownCard), DecidedAt = DateTimeOffset.UtcNow, Outcome = PassageOutcome.Denied,
        };
        bool written = true;
        Assert.DoesNotThrow(() => written = journal.Append(passage));
        Assert.That(written, Is.False);
        Assert.That(journal.FailedWrites, Is.EqualTo(1));
        Assert.That(journal.LastFailure, Is.Not.Empty);
        Assert.That(passage.Journaled, Is.False);
    }

    [Test]
    public void A_new_database_on_a_full_disk_gives_a_clear_message()
    {
        FillDisk(Path.Combine(_mount, "filler.bin"));
        var error = Assert.Throws<StoreException>(() => EdgeDatabase.Open(Path.Combine(_mount, "edge.db")));
        Assert.That(error!.Message, Does.Contain("full").Or.Contain("Disk I/O"));
    }
}
