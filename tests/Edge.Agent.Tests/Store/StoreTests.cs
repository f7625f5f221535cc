using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Store;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Tests.Store;

[Category("Integration")]
public class StoreTests
{
    private static readonly DateTimeOffset s_today = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

    private static long Scalar(EdgeDatabase database, string sql)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Test]
    public void New_database_is_migrated_to_the_latest_version_in_wal_mode_and_reopening_changes_nothing()
    {
        using var dir = new TempDirectory();
        var database = EdgeDatabase.Open(dir.File("edge.db"));
        Assert.That(database.SchemaVersion(), Is.EqualTo(Migrations.All[^1].Version));
        using (var connection = database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "PRAGMA journal_mode";
            Assert.That(command.ExecuteScalar(), Is.EqualTo("wal"));
        }
        DemoSchool.Seed(database, s_today, pupils: 50, classes: 5);
        var reopened = EdgeDatabase.Open(dir.File("edge.db"));
        Assert.That(Scalar(reopened, "SELECT COUNT(*) FROM schema_migrations"), Is.EqualTo(Migrations.All.Count));
        Assert.That(Scalar(reopened, "SELECT COUNT(*) FROM pupils"), Is.EqualTo(50));
    }

    [Test]
    public void Database_from_a_newer_agent_is_refused_without_changes()
    {
        using var dir = new TempDirectory();
        var database = EdgeDatabase.Open(dir.File("edge.db"));
        using (var connection = database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "INSERT INTO schema_migrations VALUES (999, 'future', 'x')";
            command.ExecuteNonQuery();
        }
        var error = Assert.Throws<StoreException>(() => EdgeDatabase.Open(dir.File("edge.db")));
        Assert.That(error!.Message, Does.Contain("newer").And.Contain("upgrade the agent"));
    }

    [Test]
    public void Damaged_database_file_gives_a_clear_message_and_is_left_as_it_was()
    {
        using var dir = new TempDirectory();
        string path = dir.File("edge.db");
        var garbage = new byte[8192];
        new Random(7).NextBytes(garbage);
        File.WriteAllBytes(path, garbage);
        var error = Assert.Throws<StoreException>(() => EdgeDatabase.Open(path));
        Assert.That(error!.Message, Does.Contain("damaged or is not a Kezekshi database").And.Contain("Nothing was changed"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(garbage));
    }

    [Test]
    public void Read_only_database_gives_a_clear_message_and_keeps_its_data()
    {
        using var dir = new TempDirectory();
        string path = dir.File("edge.db");
        DemoSchool.Seed(EdgeDatabase.Open(path), s_today, pupils: 10, classes: 2);
        SqliteConnection.ClearAllPools();
        File.SetAttributes(path, FileAttributes.ReadOnly);
        try
        {
            var error = Assert.Throws<StoreException>(() => EdgeDatabase.Open(path));
            Assert.That(error!.Message, Does.Contain("read-only"));
        }
        finally
        {
            File.SetAttributes(path, FileAttributes.Normal);
        }
        Assert.That(Scalar(EdgeDatabase.Open(path), "SELECT COUNT(*) FROM pupils"), Is.EqualTo(10));
    }

    [Test]
    public void Database_locked_by_another_writer_gives_a_message_that_names_the_cause()
    {
        using var dir = new TempDirectory();
        var database = EdgeDatabase.Open(dir.File("edge.db"));
        using var holder = database.Connect();
        using (var begin = holder.CreateCommand())
        {
            begin.CommandText = "PRAGMA busy_timeout=0; BEGIN EXCLUSIVE";
            begin.ExecuteNonQuery();
        }
        using var other = new SqliteConnection($"Data Source={database.Path};Default Timeout=1");
        other.Open();
        using var write = other.CreateCommand();
        write.CommandText = "INSERT INTO holidays VALUES ('2030-01-01','x')";
        var raw = Assert.Throws<SqliteException>(() => write.ExecuteNonQuery());
        var translated = database.Translate(raw!, "writing passages to");
        Assert.That(translated.Message, Does.Contain("locked by another process").And.Contain("fuser"));
    }

    [Test]
    public void Demo_school_loads_into_a_snapshot_with_card_statuses()
    {
        using var dir = new TempDirectory();
        var database = EdgeDatabase.Open(dir.File("edge.db"));
        Assert.That(DemoSchool.Seed(database, s_today), Is.True);
        Assert.That(DemoSchool.Seed(database, s_today), Is.False, "seeding twice changes nothing");
        var snapshot = new AccessRepository(database).LoadSnapshot();
        Assert.That(snapshot.Credentials, Has.Count.EqualTo(1200 + 80 + 3));
        Assert.That(snapshot.Credentials[DemoSchool.PupilCard(97)].Status, Is.EqualTo(CredentialStatus.Blocked));
        Assert.That(snapshot.Credentials[DemoSchool.PupilCard(211)].Status, Is.EqualTo(CredentialStatus.Lost));
        Assert.That(snapshot.Credentials[DemoSchool.PupilCard(5)].Holder.ClassId, Is.EqualTo(5));
        Assert.That(snapshot.ClassWindows[1], Has.Length.EqualTo(6));
        Assert.That(snapshot.TimeZone.Id, Is.EqualTo("Asia/Almaty"));
    }

    [Test]
    public async Task Passage_presence_and_outbox_event_are_written_together()
    {
        using var dir = new TempDirectory();
        var database = EdgeDatabase.Open(dir.File("edge.db"));
        DemoSchool.Seed(database, s_today, pupils: 10, classes: 2);
        var snapshot = new AccessRepository(database).LoadSnapshot();
        await using var recorder = new PassageRecorder(database, null, NullLogger.Instance);
        var credential = snapshot.Credentials[DemoSchool.PupilCard(3)];
        await recorder.RecordAsync(new Passage
        {
            Uid = "p-1", Gate = "gate1", Direction = Direction.Entry, CardNumber = credential.CardNumber, Holder = credential.Holder,
            Decision = GateDecision.Grant(DecisionReason.Granted, credential), DecidedAt = s_today, Outcome = PassageOutcome.Passed, CompletedAt = s_today.AddSeconds(2),
        });
        Assert.That(Scalar(database, "SELECT COUNT(*) FROM passages WHERE passage_uid='p-1' AND outcome='passed'"), Is.EqualTo(1));
        Assert.That(Scalar(database, "SELECT inside FROM presence WHERE holder_kind='pupil' AND holder_id=3"), Is.EqualTo(1));
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT payload FROM outbox";
        string payload = (string)command.ExecuteScalar()!;
        Assert.That(payload, Does.Contain("\"schemaVersion\":1").And.Contain("\"uid\":\"p-1\"").And.Contain("\"holderId\":3").And.Contain("\"credential\":\"card\""));
        Assert.That(payload, Does.Not.Contain(credential.Holder.FullName), "no names leave the school in passage events");
        Assert.That(payload, Does.Not.Contain(credential.CardNumber.ToString(System.Globalization.CultureInfo.InvariantCulture)), "nor card numbers");
    }

    [Test]
    public async Task A_face_passage_says_so_in_its_outbox_event_and_a_manual_pass_names_no_credential()
    {
        using var dir = new TempDirectory();
        var database = EdgeDatabase.Open(dir.File("edge.db"));
        DemoSchool.Seed(database, s_today, pupils: 10, classes: 2);
        var snapshot = new AccessRepository(database).LoadSnapshot();
        await using var recorder = new PassageRecorder(database, null, NullLogger.Instance);
        var credential = snapshot.Credentials[DemoSchool.PupilCard(4)];
        await recorder.RecordAsync(new Passage
        {
            Uid = "p-face", Gate = "gate1", Direction = Direction.Entry, Credential = PassageCredential.Face, CameraId = "cam-1", Holder = credential.Holder,
            Decision = GateDecision.Grant(DecisionReason.Granted, credential), DecidedAt = s_today, Outcome = PassageOutcome.Passed, CompletedAt = s_today.AddSeconds(2),
        });
        await recorder.RecordAsync(new Passage
        {
            Uid = "p-manual", Gate = "gate1", Direction = Direction.Exit, Credential = PassageCredential.None, Holder = credential.Holder,
            Decision = GateDecision.Grant(DecisionReason.Granted, credential), DecidedAt = s_today.AddHours(6), Outcome = PassageOutcome.Passed, CompletedAt = s_today.AddHours(6),
        });
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT payload FROM outbox WHERE event_type = 'passage' ORDER BY seq";
        using var reader = command.ExecuteReader();
        var payloads = new List<System.Text.Json.JsonElement>();
        while (reader.Read())
            payloads.Add(System.Text.Json.JsonDocument.Parse(reader.GetString(0)).RootElement);
        Assert.That(payloads.Select(p => p.GetProperty("uid").GetString()), Is.EqualTo(new[] { "p-face", "p-manual" }));
        Assert.That(payloads[0].GetProperty("credential").GetString(), Is.EqualTo("face"));
        Assert.That(payloads[1].GetProperty("credential").ValueKind, Is.EqualTo(System.Text.Json.JsonValueKind.Null));
    }

    [Test]
    public async Task Actuations_in_the_journal_without_a_passage_are_recovered_once_after_a_crash()
    {
        using var dir = new TempDirectory();
        var database = EdgeDatabase.Open(dir.File("edge.db"));
        string journalPath = dir.File("actuations.journal");
        var holder = new Holder(HolderKind.Pupil, 7, "", true, 1, null);
        Passage Make(string uid) => new()
        {
            Uid = uid, Gate = "gate1", Direction = Direction.Entry, CardNumber = 42, Holder = holder,
            Decision = new GateDecision(true, DecisionReason.Granted, null), DecidedAt = s_today, Outcome = PassageOutcome.Unknown,
        };
        using (var journal = new ActuationJournal(journalPath))
        {
            journal.Append(Make("stored"));
            journal.Append(Make("lost-in-crash"));
            journal.Append(new Passage
            {
                Uid = "face-lost-in-crash", Gate = "gate1", Direction = Direction.Entry, Holder = holder, Credential = PassageCredential.Face, CameraId = "gate1-entry-cam",
                Decision = new GateDecision(true, DecisionReason.Granted, null), DecidedAt = s_today, Outcome = PassageOutcome.Unknown,
            });
            await using var recorder = new PassageRecorder(database, journal, NullLogger.Instance);
            var stored = Make("stored");
            stored.Outcome = PassageOutcome.Passed;
            await recorder.RecordAsync(stored);
        }
        // A torn last line, as a crash in the middle of a write leaves it — here cut inside the timestamp, which still parses as a number.
        File.AppendAllText(journalPath, "torn|gate1|entry|42|pupil|7|granted|6389");

        var entries = ActuationJournal.ReadEntries(journalPath);
        Assert.That(entries.Select(e => e.Uid), Is.EqualTo(new[] { "stored", "lost-in-crash", "face-lost-in-crash" }));
        Assert.That(entries[2].Credential, Is.EqualTo(PassageCredential.Face));
        Assert.That(entries[2].CameraId, Is.EqualTo("gate1-entry-cam"));
        Assert.That(entries[1].Credential, Is.EqualTo(PassageCredential.Card));
        await using (var recorder = new PassageRecorder(database, null, NullLogger.Instance))
        {
            Assert.That(recorder.RecoverFromJournal(entries), Is.EqualTo(2));
            Assert.That(recorder.RecoverFromJournal(entries), Is.EqualTo(0), "recovering twice adds nothing");
        }
        Assert.That(Scalar(database, "SELECT COUNT(*) FROM passages WHERE passage_uid='lost-in-crash' AND outcome='unknown'"), Is.EqualTo(1));
        Assert.That(Scalar(database, "SELECT COUNT(*) FROM passages WHERE passage_uid='stored' AND outcome='passed'"), Is.EqualTo(1));
        Assert.That(Scalar(database, "SELECT COUNT(*) FROM passages WHERE passage_uid='face-lost-in-crash' AND credential='face' AND camera='gate1-entry-cam'"), Is.EqualTo(1),
            "a face passage recovered after a crash stays a face passage");
    }
}
