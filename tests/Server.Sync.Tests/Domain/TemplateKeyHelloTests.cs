using System.Security.Cryptography;
using System.Text;
using Kezekshi.Server.Sync.Downlink;
using Kezekshi.Server.Sync.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Server.Sync.Tests.Domain;

/// <summary>The public template key a school sends in hello is stored only when it is a P-256 key with the id it claims (docs/sync-protocol.md §6).</summary>
[Category("Integration")]
public sealed class TemplateKeyHelloTests : CentreFixture
{
    private static byte[] Hello(string keyId, string alg, string publicKey) => Encoding.UTF8.GetBytes($$"""
        { "schemaVersion": 1, "type": "hello", "school": "sch-0001", "region": "almaty", "msgId": "m", "sentAt": "2026-11-21T07:29:59+05:00",
          "epoch": "7f3c2a9e-5d41-4b7a-9f0e-2c6d8b1a4e55", "appliedVersion": 0,
          "templateKey": { "keyId": "{{keyId}}", "alg": "{{alg}}", "publicKey": "{{publicKey}}" } }
        """);

    [Test]
    public async Task A_valid_key_is_stored_and_a_wrong_id_curve_or_alg_is_ignored_while_the_hello_still_counts()
    {
        var sessions = new SchoolSessions(new DownlinkFeed(Database), Ingestor, (_, _, _) => Task.FromResult(true), NullLogger<SchoolSessions>.Instance);
        string topic = $"kz/v1/almaty/{SchoolA}/up/hello";
        using var p256 = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        using var p384 = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        byte[] good = p256.ExportSubjectPublicKeyInfo(), other = p384.ExportSubjectPublicKeyInfo();
        string goodId = "k-" + Convert.ToHexStringLower(SHA256.HashData(good))[..16];
        string otherId = "k-" + Convert.ToHexStringLower(SHA256.HashData(other))[..16];

        await sessions.OnHelloAsync(topic, Hello("k-0000000000000000", "ECDH-P256", Convert.ToBase64String(good)), CancellationToken.None);
        await sessions.OnHelloAsync(topic, Hello(otherId, "ECDH-P256", Convert.ToBase64String(other)), CancellationToken.None);
        await sessions.OnHelloAsync(topic, Hello(goodId, "RSA", Convert.ToBase64String(good)), CancellationToken.None);
        Assert.That(await CountAsync($"SELECT count(*) FROM schools WHERE id = '{SchoolA}' AND template_key_id IS NOT NULL"), Is.Zero);
        Assert.That(await CountAsync($"SELECT count(*) FROM schools WHERE id = '{SchoolA}' AND last_hello IS NOT NULL"), Is.EqualTo(1), "the hello itself counted");

        await sessions.OnHelloAsync(topic, Hello(goodId, "ECDH-P256", Convert.ToBase64String(good)), CancellationToken.None);
        Assert.That(await CountAsync($"SELECT count(*) FROM schools WHERE id = '{SchoolA}' AND template_key_id = '{goodId}' AND template_public_key = decode('{Convert.ToHexString(good)}', 'hex')"),
            Is.EqualTo(1));
    }
}
