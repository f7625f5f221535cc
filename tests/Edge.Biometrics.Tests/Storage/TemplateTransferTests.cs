using System.Runtime.InteropServices;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Storage;

namespace Kezekshi.Edge.Biometrics.Tests.Storage;

/// <summary>
/// Templates move between two schools' stores sealed for the target's key (docs/sync-protocol.md §5.3): only the target
/// opens them, any changed byte or re-addressing is refused, and the target stores them only under its own consent.
/// </summary>
[Category("Unit")]
public class TemplateTransferTests
{
    private const long Pupil = 480_112;

    [Test]
    public void A_template_sealed_at_school_a_opens_at_school_b_and_identifies_the_pupil_there()
    {
        using var a = new BiometricsRig();
        using var b = new BiometricsRig();
        using var keysA = SchoolKeyPair.LoadOrCreate(Path.Combine(a.Directory, "biometrics.key.transfer"));
        using var keysB = SchoolKeyPair.LoadOrCreate(Path.Combine(b.Directory, "biometrics.key.transfer"));
        var identity = TestVectors.Unit(new Random(11), 16);
        a.ConsentAndEnrol(Pupil, identity, new Random(12));
        b.Consents.RecordGrant(b.Grant(Pupil, BiometricPurpose.Access));
        var fromA = new TemplateTransfer(a.Store, a.Index, a.Consents, keysA, "sch-a");
        var atB = new TemplateTransfer(b.Store, b.Index, b.Consents, keysB, "sch-b");

        var sealedTemplates = fromA.Export(Pupil, "sch-b", keysB.PublicKey, "centre:transfer tr-1");
        Assert.That(sealedTemplates, Has.Count.EqualTo(3));
        foreach (var s in sealedTemplates)
        {
            var plain = MemoryMarshal.AsBytes(a.Store.ReadPupil(Pupil, "test", "check").Single(t => s.TemplateId == $"sch-a.t{t.TemplateId}").Vector.AsSpan()).ToArray();
            Assert.That(Convert.FromBase64String(s.Ciphertext), Is.Not.EqualTo(plain), "the vector travels only as ciphertext");
        }
        var receipts = sealedTemplates.Select(s => atB.Receive(s, "centre:transfer tr-1")).ToList();
        var again = atB.Receive(sealedTemplates[0], "centre:transfer tr-1");

        Assert.That(receipts.Select(r => r.AlreadyHeld), Is.All.False);
        Assert.That(again.AlreadyHeld, Is.True, "receiving the same template again stores nothing");
        Assert.That(b.Store.Count(Pupil), Is.EqualTo(3));
        Assert.That(b.Identify(TestVectors.Near(identity, new Random(13), 0.1f), BiometricPurpose.Access).PupilId, Is.EqualTo(Pupil), "the pupil is recognised at school B");
        Assert.That(b.Audit.Verify().IsIntact, Is.True);

        // Stored at B under B's own at-rest key: a restart of B loads it without the transfer key.
        var reloaded = b.Store.LoadAll();
        Assert.That(reloaded.Templates.Count(t => t.PupilId == Pupil), Is.EqualTo(3));
    }

    [Test]
    public void A_changed_byte_another_pupil_or_another_school_is_refused_with_its_reason()
    {
        using var a = new BiometricsRig();
        using var b = new BiometricsRig();
        using var keysA = SchoolKeyPair.LoadOrCreate(Path.Combine(a.Directory, "t.transfer"));
        using var keysB = SchoolKeyPair.LoadOrCreate(Path.Combine(b.Directory, "t.transfer"));
        a.ConsentAndEnrol(Pupil, TestVectors.Unit(new Random(21), 16), new Random(22));
        b.Consents.RecordGrant(b.Grant(Pupil, BiometricPurpose.Access));
        b.Consents.RecordGrant(b.Grant(Pupil + 1, BiometricPurpose.Access));
        var s = new TemplateTransfer(a.Store, a.Index, a.Consents, keysA, "sch-a").Export(Pupil, "sch-b", keysB.PublicKey, "test")[0];
        var atB = new TemplateTransfer(b.Store, b.Index, b.Consents, keysB, "sch-b");
        var cipher = Convert.FromBase64String(s.Ciphertext);
        cipher[5] ^= 0x01;

        string Reason(SealedTemplate t) => Assert.Throws<TemplateSealException>(() => atB.Receive(t, "test"))!.Reason;
        Assert.That(Reason(s with { Ciphertext = Convert.ToBase64String(cipher) }), Is.EqualTo("tampered"));
        Assert.That(Reason(s with { PupilId = Pupil + 1 }), Is.EqualTo("tampered"), "moved to another pupil");
        Assert.That(Reason(s with { Model = "other-model" }), Is.EqualTo("tampered"));
        Assert.That(Reason(s with { TargetSchool = "sch-c" }), Is.EqualTo("wrong-school"));
        Assert.That(Reason(s with { KeyId = "k-0000000000000000" }), Is.EqualTo("wrong-key"));
        Assert.That(Reason(s with { Nonce = "not base64!" }), Is.EqualTo("malformed"));
        Assert.That(b.Store.Count(), Is.Zero, "nothing refused is stored");

        // A school holding the right id but another key (its key file was replaced) cannot open it either.
        using var otherB = SchoolKeyPair.LoadOrCreate(Path.Combine(b.Directory, "other.transfer"));
        var e = Assert.Throws<TemplateSealException>(() => TemplateSeal.Open(otherB, "sch-b", s with { KeyId = otherB.KeyId }))!;
        Assert.That(e.Reason, Is.EqualTo("tampered"));
    }

    [Test]
    public void The_target_stores_nothing_without_its_own_consent_and_the_source_exports_nothing_without_its_own()
    {
        using var a = new BiometricsRig();
        using var b = new BiometricsRig();
        using var keysA = SchoolKeyPair.LoadOrCreate(Path.Combine(a.Directory, "t.transfer"));
        using var keysB = SchoolKeyPair.LoadOrCreate(Path.Combine(b.Directory, "t.transfer"));
        var identity = TestVectors.Unit(new Random(31), 16);
        a.ConsentAndEnrol(Pupil, identity, new Random(32));
        var fromA = new TemplateTransfer(a.Store, a.Index, a.Consents, keysA, "sch-a");
        var atB = new TemplateTransfer(b.Store, b.Index, b.Consents, keysB, "sch-b");
        var s = fromA.Export(Pupil, "sch-b", keysB.PublicKey, "test")[0];

        var noConsent = Assert.Throws<TemplateSealException>(() => atB.Receive(s, "test"))!;
        Assert.That(noConsent.Reason, Is.EqualTo("no-consent"));
        Assert.That(noConsent.Message, Does.Contain("Record the guardian's consent here"));
        b.Consents.RecordGrant(b.Grant(Pupil, BiometricPurpose.Attendance));
        Assert.That(Assert.Throws<TemplateSealException>(() => atB.Receive(s, "test"))!.Reason, Is.EqualTo("no-consent"), "attendance alone does not cover access");
        Assert.That(b.Store.Count(), Is.Zero);

        a.Consents.Revoke(new Revocation(Pupil, null, "office", "guardian withdrew", ConsentPolicy.AllowedPurposes));
        Assert.That(Assert.Throws<TemplateSealException>(() => fromA.Export(Pupil, "sch-b", keysB.PublicKey, "test"))!.Reason, Is.EqualTo("no-consent"));
    }

    [Test]
    public void Revoking_at_the_target_deletes_received_templates_and_a_later_transfer_is_stored_again()
    {
        using var a = new BiometricsRig();
        using var b = new BiometricsRig();
        using var keysA = SchoolKeyPair.LoadOrCreate(Path.Combine(a.Directory, "t.transfer"));
        using var keysB = SchoolKeyPair.LoadOrCreate(Path.Combine(b.Directory, "t.transfer"));
        var identity = TestVectors.Unit(new Random(41), 16);
        a.ConsentAndEnrol(Pupil, identity, new Random(42));
        b.Consents.RecordGrant(b.Grant(Pupil, BiometricPurpose.Access));
        var fromA = new TemplateTransfer(a.Store, a.Index, a.Consents, keysA, "sch-a");
        var atB = new TemplateTransfer(b.Store, b.Index, b.Consents, keysB, "sch-b");
        foreach (var s in fromA.Export(Pupil, "sch-b", keysB.PublicKey, "test")) atB.Receive(s, "test");

        b.Consents.Revoke(new Revocation(Pupil, null, "centre", "revoked at the centre", ConsentPolicy.AllowedPurposes));
        Assert.That(b.Store.Count(Pupil), Is.Zero);
        Assert.That(b.Identify(identity, BiometricPurpose.Access).Outcome, Is.EqualTo(IdentifyOutcome.Unknown));

        b.Consents.RecordGrant(b.Grant(Pupil, BiometricPurpose.Access, guardian: "g-father"));
        var resent = fromA.Export(Pupil, "sch-b", keysB.PublicKey, "test");
        var again = resent.Select(s => atB.Receive(s, "test")).ToList();
        Assert.That(again.Select(r => r.AlreadyHeld), Is.All.False, "a template deleted at B is not mistaken for one still held");
        Assert.That(b.Store.Count(Pupil), Is.EqualTo(3));
        Assert.That(atB.Delete(resent[0].TemplateId, "withdrawn", "centre"), Is.True);
        Assert.That(atB.Delete(resent[0].TemplateId, "withdrawn", "centre"), Is.False, "already gone");
        Assert.That(b.Store.Count(Pupil), Is.EqualTo(2), "template.delete removes one received template");
    }

    [Test]
    public void The_key_pair_is_created_owner_only_kept_across_restarts_and_refused_when_others_can_read_it()
    {
        using var rig = new BiometricsRig();
        string path = Path.Combine(rig.Directory, "biometrics.key.transfer");
        string keyId;
        byte[] publicKey;
        using (var created = SchoolKeyPair.LoadOrCreate(path))
        {
            keyId = created.KeyId;
            publicKey = created.PublicKey;
        }
        using (var loaded = SchoolKeyPair.LoadOrCreate(path))
        {
            Assert.That(loaded.KeyId, Is.EqualTo(keyId));
            Assert.That(loaded.PublicKey, Is.EqualTo(publicKey));
        }
        Assert.That(keyId, Does.Match("^k-[0-9a-f]{16}$"));
        Assert.That(SchoolKeyPair.ProblemWith(publicKey), Is.Null);
        Assert.That(SchoolKeyPair.ProblemWith([1, 2, 3]), Is.Not.Null);
        if (OperatingSystem.IsWindows()) Assert.Ignore("file modes are Linux");
        else
        {
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            var e = Assert.Throws<BiometricsStoreException>(() => SchoolKeyPair.LoadOrCreate(path))!;
            Assert.That(e.Message, Does.Contain("chmod 600"));
        }
    }
}
