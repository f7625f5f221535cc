using Kezekshi.Edge.Biometrics.Audit;
using Kezekshi.Edge.Biometrics.Consent;
using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests.Audit;

[TestFixture, Category("Integration")]
public sealed class AuditLogTests
{
    private static void Execute(BiometricsRig rig, string sql)
    {
        using var connection = rig.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static BiometricsRig RigWithHistory()
    {
        var rig = new BiometricsRig();
        var random = new Random(1);
        rig.ConsentAndEnrol(1, TestVectors.Unit(random, 16), random);
        rig.ConsentAndEnrol(2, TestVectors.Unit(random, 16), random);
        rig.Store.ReadPupil(1, "dpo.marat", "subject-access-request");
        rig.Consents.Revoke(new Revocation(2, null, BiometricsRig.Operator, "guardian letter 12"));
        rig.Store.LoadAll();
        return rig;
    }

    [Test]
    public void Every_read_and_change_of_a_template_is_logged_with_who_why_and_whom()
    {
        using var rig = RigWithHistory();
        var entries = rig.Audit.Read().Select(r => r.Entry).ToList();
        Assert.That(entries.Where(e => e.Action == "enrol").Select(e => e.Subject), Is.EqualTo(new[] { "pupil:1", "pupil:2" }));
        Assert.That(entries, Has.Some.Matches<AuditEntry>(e => e is { Action: "read", Actor: "dpo.marat", Purpose: "subject-access-request", Subject: "pupil:1" }));
        Assert.That(entries, Has.Some.Matches<AuditEntry>(e => e.Action == "delete" && e.Subject == "pupil:2" && e.Purpose.Contains("guardian letter 12", StringComparison.Ordinal)));
        Assert.That(entries.Last(), Has.Property("Action").EqualTo("load").And.Property("Subject").EqualTo("all"));
    }

    [Test]
    public void An_untouched_chain_verifies()
    {
        using var rig = RigWithHistory();
        var result = rig.Audit.Verify();
        Assert.That(result.IsIntact, Is.True, result.Message);
        Assert.That(result.EntriesChecked, Is.EqualTo(rig.Audit.Read().Count));
    }

    [Test]
    public void The_database_refuses_to_update_or_delete_audit_rows()
    {
        using var rig = RigWithHistory();
        Assert.That(() => Execute(rig, "UPDATE audit_log SET actor = 'x' WHERE seq = 2"), Throws.TypeOf<SqliteException>().With.Message.Contains("append-only"));
        Assert.That(() => Execute(rig, "DELETE FROM audit_log WHERE seq = 2"), Throws.TypeOf<SqliteException>().With.Message.Contains("append-only"));
    }

    [Test]
    public void A_tampered_row_is_found_as_the_first_broken_link()
    {
        using var rig = RigWithHistory();
        Execute(rig, "DROP TRIGGER audit_log_is_append_only_update");
        Execute(rig, "UPDATE audit_log SET actor = 'nobody' WHERE seq = 4");
        var result = rig.Audit.Verify();
        Assert.That(result.IsIntact, Is.False);
        Assert.That(result.FirstBrokenSeq, Is.EqualTo(4));
        Assert.That(result.Message, Does.Contain("content was changed"));
    }

    [Test]
    public void A_row_rewritten_with_a_fresh_hash_breaks_the_next_link()
    {
        using var rig = RigWithHistory();
        Execute(rig, "DROP TRIGGER audit_log_is_append_only_update");
        Execute(rig, "UPDATE audit_log SET detail = 'nothing happened', hash = 'ff' || substr(hash, 3) WHERE seq = 3");
        var result = rig.Audit.Verify();
        Assert.That(result.FirstBrokenSeq, Is.EqualTo(3));
    }

    [Test]
    public void A_deleted_row_is_found()
    {
        using var rig = RigWithHistory();
        Execute(rig, "DROP TRIGGER audit_log_is_append_only_delete");
        Execute(rig, "DELETE FROM audit_log WHERE seq = 5");
        var result = rig.Audit.Verify();
        Assert.That(result.IsIntact, Is.False);
        Assert.That(result.FirstBrokenSeq, Is.EqualTo(5));
        Assert.That(result.Message, Does.Contain("missing"));
    }
}
