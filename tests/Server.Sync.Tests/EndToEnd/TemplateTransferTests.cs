using System.Runtime.InteropServices;
using Kezekshi.Edge.Agent.Sync;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Server.Sync.Domain;
using Kezekshi.Server.Sync.Tests.Support;
using Npgsql;

namespace Kezekshi.Server.Sync.Tests.EndToEnd;

/// <summary>
/// A pupil's face templates enrolled at school A reach school B through the real chain (docs/sync-protocol.md §5.3):
/// two gate PCs with their own SQLite files and keys, each on its own mosquitto (TLS, certificates, ACL), one centre
/// PostgreSQL. The centre relays only ciphertext; B stores them only under a consent it holds, and a revocation at the
/// centre purges them at B.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable]
public sealed class TemplateTransferTests : DomainFixture
{
    private static readonly BiometricsOptions s_biometrics = new()
    {
        Enabled = true,
        Dpia = new DpiaRecord { Reference = "DPIA-TEST", ApprovedBy = "head teacher", ApprovedOn = new DateOnly(2026, 8, 20) },
        Match = new MatchPolicy { AcceptThreshold = 0.8f, Margin = 0.05f },
    };

    [Test]
    public async Task Templates_enrolled_at_school_a_identify_the_pupil_at_school_b_and_the_centre_never_holds_them_in_clear()
    {
        var (classA, _) = await Roster.PutClassAsync(SchoolA, new ClassRequest("5Б", 5), CancellationToken.None);
        var (classB, _) = await Roster.PutClassAsync(SchoolB, new ClassRequest("5А", 5), CancellationToken.None);
        var pupil = await Roster.EnrolPupilAsync(new PupilRequest(classA.ClassId, "Айгерим Сейтқали", null), CancellationToken.None);
        var transfers = new TemplateTransfers(Database);

        await using var rigA = await SyncRig.StartAsync(SchoolA);
        await using var rigB = await SyncRig.StartAsync(SchoolB);
        using var a = BiometricsModule.Open(s_biometrics, rigA.Directory);
        using var b = BiometricsModule.Open(s_biometrics, rigB.Directory);
        await rigA.StartCentreAsync(Database, Ingestor);
        await rigB.StartCentreAsync(Database, Ingestor);
        await rigA.StartSchoolAsync(Handlers(a, SchoolA));
        await rigB.StartSchoolAsync(Handlers(b, SchoolB));

        // At A the guardian signs the consent form in the school office and the pupil is enrolled there.
        a.Consents.RecordGrant(new ConsentGrant(pupil.PupilId, "g-1", "Guardian", DateTimeOffset.UtcNow, new string('a', 64),
            BiometricPurpose.Access | BiometricPurpose.Attendance, DateTimeOffset.UtcNow.AddYears(1), "office", NoCrossBorder: true));
        var images = new[] { VectorInPixels.Image(1), VectorInPixels.Image(2) };
        a.Enrolment(new VectorInPixels()).Enrol(pupil.PupilId, images, "office");
        Assert.That(a.Store.Count(pupil.PupilId), Is.EqualTo(2));
        await Until(async () => await CountAsync($"SELECT count(*) FROM schools WHERE id = '{SchoolB}' AND template_key_id = '{b.TransferKeys.KeyId}'") == 1,
            "school B's public key at the centre");

        // 1. The centre holds no consent of the pupil, so B holds none either: B refuses the templates, saying why.
        var first = await transfers.RequestAsync(pupil.PupilId, new TransferRequest(SchoolA, SchoolB, "registrar"), CancellationToken.None);
        await Until(async () => await CountAsync($"SELECT count(*) FROM downlink_rejections WHERE school = '{SchoolB}' AND reason LIKE '%no-consent%'") == 2,
            "B's rejections of both templates");
        Assert.That((await transfers.GetAsync(first.TransferId, CancellationToken.None)).Status, Is.EqualTo("delivered"));
        Assert.That(b.Store.Count(), Is.Zero);

        // 2. With the consent recorded at the centre, it travels to B ahead of the templates and B takes them.
        await GrantAsync(pupil.PupilId, "access", "attendance");
        var second = await transfers.RequestAsync(pupil.PupilId, new TransferRequest(SchoolA, SchoolB, "registrar"), CancellationToken.None);
        await Until(() => Task.FromResult(b.Store.Count(pupil.PupilId) == 2L), "the templates stored at B");
        var done = await transfers.GetAsync(second.TransferId, CancellationToken.None);
        Assert.That((done.Status, done.Templates), Is.EqualTo(("delivered", 2)));
        var space = new TemplateSpace(BiometricModality.Face, new VectorInPixels().ModelId);
        foreach (var image in images)
            Assert.That(b.Index.Identify(VectorInPixels.Vector(image), BiometricPurpose.Access, space).PupilId, Is.EqualTo(pupil.PupilId), "B recognises the pupil");

        // The centre relayed ciphertext only: no vector bytes, no private key anywhere in its tables.
        var centreText = await AllCentreTextAsync();
        foreach (var image in images)
        {
            var vector = MemoryMarshal.AsBytes(VectorInPixels.Vector(image).AsSpan()).ToArray();
            Assert.That(centreText, Does.Not.Contain(Convert.ToBase64String(vector)));
        }
        foreach (var (_, kind, data) in await FeedAsync(SchoolB))
        {
            if (kind != "template.upsert") continue;
            var cipher = Convert.FromBase64String(data.GetProperty("ciphertext").GetString()!);
            Assert.That(images.Select(i => MemoryMarshal.AsBytes(VectorInPixels.Vector(i).AsSpan()).ToArray()), Has.None.EqualTo(cipher));
            Assert.That(data.GetProperty("targetSchool").GetString(), Is.EqualTo(SchoolB));
        }
        using (var key = System.Security.Cryptography.ECDiffieHellman.Create())
        {
            key.ImportPkcs8PrivateKey(PrivateKeyOf(b), out _);
            var d = key.ExportParameters(true).D!;
            Assert.That(centreText, Does.Not.Contain(Convert.ToBase64String(d)).And.Not.Contain(Convert.ToHexStringLower(d)), "no private key of B at the centre");
        }

        // 3. A revocation at the centre reaches B (a placement) and purges the received templates there.
        var consent = (await Consents.ListAsync(pupil.PupilId, CancellationToken.None)).Single();
        var ended = await Consents.EndAsync(consent.ConsentId, "revoked", new ConsentEndRequest("office-2"), CancellationToken.None);
        Assert.That(ended.SchoolsNotified, Does.Contain(SchoolB));
        await Until(() => Task.FromResult(b.Store.Count(pupil.PupilId) == 0L), "the purge at B");
        await Until(async () => await CountAsync($"SELECT count(*) FROM purge_confirmations WHERE school = '{SchoolB}' AND consent_id = '{consent.ConsentId}' AND templates = 2") == 1,
            "B's purge confirmation");
        Assert.That(b.Index.Identify(VectorInPixels.Vector(images[0]), BiometricPurpose.Access, space).Outcome, Is.EqualTo(IdentifyOutcome.Unknown));
        Assert.That(b.Audit.Verify().IsIntact, Is.True);
    }

    private static IDownlinkHandler[] Handlers(BiometricsModule module, string school)
    {
        var transfer = module.Transfer(school);
        return [new BiometricsHandlers(module.Consents, pupil => module.Store.Count(pupil), transfer), new TemplateExportHandlers(transfer)];
    }

    private static byte[] PrivateKeyOf(BiometricsModule module)
    {
        // The test reads the key file the way an attacker with the disk would; the centre must hold nothing like it.
        byte[] file = File.ReadAllBytes(Directory.GetFiles(Path.GetDirectoryName(module.Database.Path)!, "*.transfer").Single());
        return file["KZBE1\n".Length..];
    }

    /// <summary>Every text and binary column of the centre's tables that could hold a relayed template, as text.</summary>
    private async Task<string> AllCentreTextAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        var parts = new List<string>();
        foreach (string sql in (string[])[
            "SELECT payload::text FROM downlink_changes", "SELECT payload::text FROM events", "SELECT encode(payload, 'base64') FROM dead_letters",
            "SELECT coalesce(encode(template_public_key, 'base64'), '') FROM schools", "SELECT coalesce(detail, '') FROM template_transfers"])
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) parts.Add(reader.GetString(0));
        }
        return string.Join('\n', parts);
    }

    private static async Task Until(Func<Task<bool>> condition, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(90);
        while (!await condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"{what}: not reached within 90 s");
            await Task.Delay(250);
        }
    }

    /// <summary>A stand-in camera: the template is written into the pixels (the face pipeline is the biometrics tests' business).</summary>
    private sealed class VectorInPixels : ITemplateExtractor
    {
        public BiometricModality Modality => BiometricModality.Face;
        public int Dimensions => 32;
        public string ModelId => "pixels-32";

        public TemplateExtraction Extract(RawImage image) => TemplateExtraction.Of(Vector(image), 0.9f);

        public static float[] Vector(RawImage image)
        {
            var v = image.Pixels.Take(32).Select(p => (p - 128) / 127f).ToArray();
            float norm = MathF.Sqrt(v.Sum(x => x * x));
            return [.. v.Select(x => x / norm)];
        }

        public static RawImage Image(int seed)
        {
            var pixels = new byte[32];
            new Random(seed).NextBytes(pixels);
            return new RawImage(32, 1, 1, pixels);
        }
    }
}
