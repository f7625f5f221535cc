using System.Runtime.InteropServices;
using Kezekshi.Edge.Biometrics.Storage;
using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests.Storage;

[TestFixture, Category("Integration")]
public sealed class TemplateStoreTests
{
    [Test]
    public void The_database_is_its_own_owner_only_file_in_wal_mode_with_secure_delete()
    {
        using var rig = new BiometricsRig();
        Assert.That(Path.GetFileName(rig.Database.Path), Is.EqualTo("biometrics.db"));
        Assert.That(rig.Database.Pragma("journal_mode"), Is.EqualTo("wal"));
        Assert.That(rig.Database.Pragma("secure_delete"), Is.EqualTo("1"));
        Assert.That(rig.Database.SchemaVersion(), Is.EqualTo(2));
        if (!OperatingSystem.IsWindows())
            Assert.That(File.GetUnixFileMode(rig.Database.Path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [Test]
    public void Reopening_an_existing_database_keeps_its_templates_and_version()
    {
        using var rig = new BiometricsRig();
        rig.ConsentAndEnrol(1, TestVectors.Unit(new Random(1), 16), new Random(2));
        var again = BiometricsDatabase.Open(rig.Database.Path);
        Assert.That(again.SchemaVersion(), Is.EqualTo(2));
        Assert.That(rig.Store.Count(), Is.EqualTo(3));
    }

    [Test]
    public void Templates_are_encrypted_at_rest_and_decrypt_to_what_was_stored()
    {
        using var rig = new BiometricsRig();
        var vector = TestVectors.Unit(new Random(3), 16);
        var saved = rig.Store.Save([new NewTemplate(7, BiometricModality.Face, "m1", vector, 0.9f)], BiometricsRig.Operator);

        SqliteConnection.ClearAllPools();
        byte[] plain = MemoryMarshal.AsBytes(vector.AsSpan()).ToArray();
        byte[] file = File.ReadAllBytes(rig.Database.Path);
        byte[] wal = File.Exists(rig.Database.Path + "-wal") ? File.ReadAllBytes(rig.Database.Path + "-wal") : [];
        Assert.That(file.AsSpan().IndexOf(plain.AsSpan(0, 16)), Is.EqualTo(-1), "no plaintext template bytes in the database file");
        Assert.That(wal.AsSpan().IndexOf(plain.AsSpan(0, 16)), Is.EqualTo(-1), "nor in the WAL");

        var loaded = rig.Store.LoadAll();
        Assert.That(loaded.Templates.Single().Vector, Is.EqualTo(vector));
        Assert.That(loaded.Templates.Single().TemplateId, Is.EqualTo(saved[0].TemplateId));
    }

    [Test]
    public void A_ciphertext_moved_to_another_pupil_fails_its_integrity_check()
    {
        using var rig = new BiometricsRig();
        rig.Store.Save([new NewTemplate(7, BiometricModality.Face, "m1", TestVectors.Unit(new Random(3), 16), 0.9f)], BiometricsRig.Operator);
        using (var connection = rig.Database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "UPDATE templates SET pupil_id = 8";
            command.ExecuteNonQuery();
        }
        Assert.That(() => rig.Store.LoadAll(), Throws.TypeOf<BiometricsStoreException>().With.Message.Contains("integrity check").And.Message.Contains("Re-enrol"));
    }

    [Test]
    public void The_start_up_load_returns_every_template_of_every_model_in_id_order_across_many_chunks()
    {
        // 1,300 templates: several of the bulk reader's 256-row chunks, decrypted on other threads,
        // with two models of different dimensions interleaved.
        using var rig = new BiometricsRig();
        var random = new Random(11);
        var stored = new List<NewTemplate>();
        for (int i = 0; i < 1_300; i++)
            stored.Add(i % 3 == 0
                ? new NewTemplate(i / 2 + 1, BiometricModality.Palm, "palm-code", TestVectors.Unit(random, 64), 0.8f)
                : new NewTemplate(i / 2 + 1, BiometricModality.Face, "faceres", TestVectors.Unit(random, 1024), 0.9f));
        var saved = rig.Store.Save(stored, BiometricsRig.Operator);

        var loaded = rig.Store.LoadAll().Templates;

        Assert.That(loaded.Select(t => t.TemplateId), Is.EqualTo(saved.Select(t => t.TemplateId).Order()));
        for (int i = 0; i < saved.Count; i++)
        {
            var template = loaded.Single(t => t.TemplateId == saved[i].TemplateId);
            Assert.That((template.PupilId, template.Modality, template.ModelId), Is.EqualTo((stored[i].PupilId, stored[i].Modality, stored[i].ModelId)));
            Assert.That(template.Vector, Is.EqualTo(stored[i].Vector), $"template {i}");
        }
    }

    [Test]
    public void One_altered_template_deep_in_a_large_load_fails_the_load_naming_it()
    {
        using var rig = new BiometricsRig();
        var random = new Random(12);
        var saved = rig.Store.Save([.. Enumerable.Range(0, 900).Select(i => new NewTemplate(i + 1, BiometricModality.Face, "m1", TestVectors.Unit(random, 128), 0.9f))], BiometricsRig.Operator);
        long victim = saved[700].TemplateId;
        using (var connection = rig.Database.Connect())
        using (var command = connection.CreateCommand())
        {
            // Flip one byte of the ciphertext in place (same length).
            command.CommandText = "UPDATE templates SET ciphertext = CASE WHEN substr(ciphertext, 1, 1) = x'00' THEN x'01' ELSE x'00' END || substr(ciphertext, 2) WHERE id = $id";
            command.Parameters.AddWithValue("$id", victim);
            Assert.That(command.ExecuteNonQuery(), Is.EqualTo(1));
        }

        Assert.That(() => rig.Store.LoadAll(), Throws.TypeOf<BiometricsStoreException>()
            .With.Message.Contains($"Template {victim} of pupil 701").And.Message.Contains("integrity check"));
    }

    [Test]
    public void A_template_of_damaged_length_fails_the_load_with_the_fix()
    {
        using var rig = new BiometricsRig();
        var saved = rig.Store.Save([new NewTemplate(7, BiometricModality.Face, "m1", TestVectors.Unit(new Random(3), 16), 0.9f)], BiometricsRig.Operator);
        using (var connection = rig.Database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "UPDATE templates SET ciphertext = substr(ciphertext, 2)";
            command.ExecuteNonQuery();
        }
        Assert.That(() => rig.Store.LoadAll(), Throws.TypeOf<BiometricsStoreException>()
            .With.Message.Contains($"Template {saved[0].TemplateId} of pupil 7 has a damaged length").And.Message.Contains("Re-enrol"));
    }

    [Test]
    public void Templates_written_with_another_key_do_not_open()
    {
        using var rig = new BiometricsRig();
        rig.Store.Save([new NewTemplate(7, BiometricModality.Face, "m1", TestVectors.Unit(new Random(3), 16), 0.9f)], BiometricsRig.Operator);
        using var otherKey = new TemplateStore(rig.Database, new byte[32], rig.Audit, rig.Time);
        Assert.That(() => otherKey.LoadAll(), Throws.TypeOf<BiometricsStoreException>().With.Message.Contains("key file"));
    }

    [Test]
    public void Enrolment_photos_are_not_kept_unless_configured()
    {
        using var rig = new BiometricsRig();
        rig.ConsentAndEnrol(1, TestVectors.Unit(new Random(1), 16), new Random(2));
        Assert.That(rig.Store.ReadPhotos(1, BiometricsRig.Operator, "dpo-request"), Is.Empty);
    }

    [Test]
    public void Kept_photos_are_encrypted_read_back_and_every_read_is_audited()
    {
        using var rig = new BiometricsRig(keepRawImages: true);
        rig.ConsentAndEnrol(1, TestVectors.Unit(new Random(1), 16), new Random(2));
        var photos = rig.Store.ReadPhotos(1, "dpo.marat", "subject-access-request");
        Assert.That(photos, Has.Count.EqualTo(3));
        Assert.That(photos[0].Width, Is.EqualTo(32));
        var audit = rig.Audit.Read();
        Assert.That(audit.Count(a => a.Entry.Action == "photo-keep"), Is.EqualTo(3));
        Assert.That(audit.Last().Entry, Is.EqualTo(new Kezekshi.Edge.Biometrics.Audit.AuditEntry("dpo.marat", "subject-access-request", "photo-read", "pupil:1", audit.Last().Entry.Detail)));
    }
}

[TestFixture, Category("Integration")]
public sealed class TemplateKeyTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory()
    {
        _directory = Path.Combine(Path.GetTempPath(), "kz-key-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void The_key_file_is_created_owner_only_and_the_same_key_loads_again()
    {
        string path = Path.Combine(_directory, "biometrics.key");
        var key = TemplateKey.LoadOrCreate(path);
        Assert.That(key, Has.Length.EqualTo(32));
        Assert.That(TemplateKey.LoadOrCreate(path), Is.EqualTo(key));
        if (!OperatingSystem.IsWindows())
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [Test]
    public void A_key_file_others_can_read_is_refused_with_the_fix()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("Unix file modes only");
            return;
        }
        string path = Path.Combine(_directory, "biometrics.key");
        TemplateKey.LoadOrCreate(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        Assert.That(() => TemplateKey.LoadOrCreate(path), Throws.TypeOf<BiometricsStoreException>().With.Message.Contains("chmod 600"));
    }

    [Test]
    public void A_damaged_key_file_is_refused()
    {
        string path = Path.Combine(_directory, "biometrics.key");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(path, options))
            stream.Write("not a key"u8);
        Assert.That(() => TemplateKey.LoadOrCreate(path), Throws.TypeOf<BiometricsStoreException>().With.Message.Contains("not a Kezekshi key file"));
    }
}
