using System.Security.Cryptography;
using System.Text;
using Kezekshi.Server.Sync.Downlink;
using Kezekshi.Server.Sync.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Server.Sync.Tests.Downlink;

/// <summary>
/// Strings of <c>up/hello</c> and <c>up/acks</c> that PostgreSQL would refuse (a NUL, a key over the B-tree limit) neither
/// lose the message nor stop the school's downlink: what can be kept is kept in a storable form, the rest is left out
/// (docs/sync-protocol.md §4.1 "Field limits", §5.2).
/// </summary>
public sealed class SessionPoisonStringTests : CentreFixture
{
    private static string Incompressible(int length) =>
        string.Concat(Enumerable.Range(0, length / 64 + 1).Select(i => Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i)))))[..length];

    private SchoolSessions Sessions() => new(new DownlinkFeed(Database), Ingestor, (_, _, _) => Task.FromResult(true), NullLogger<SchoolSessions>.Instance);

    [Test]
    public async Task A_hello_whose_agent_version_holds_a_NUL_and_runs_long_still_counts()
    {
        string version = "1.4.0\\u0000" + Incompressible(5000);
        byte[] hello = Encoding.UTF8.GetBytes($$"""
            { "schemaVersion": 1, "type": "hello", "school": "{{SchoolA}}", "region": "almaty", "msgId": "m", "sentAt": "2026-11-21T07:29:59+05:00",
              "epoch": "7f3c2a9e-5d41-4b7a-9f0e-2c6d8b1a4e55", "appliedVersion": 0, "agentVersion": "{{version}}" }
            """);

        await Sessions().OnHelloAsync($"kz/v1/almaty/{SchoolA}/up/hello", hello, CancellationToken.None);

        Assert.That(await CountAsync($"SELECT count(*) FROM schools WHERE id = '{SchoolA}' AND last_hello IS NOT NULL AND agent_version LIKE '1.4.0�%' AND length(agent_version) <= 65"),
            Is.EqualTo(1), "the hello counted and the agent version is kept in a storable, bounded form");
    }

    [Test]
    public async Task An_acknowledgement_with_a_NUL_in_a_rejection_and_an_over_long_purge_id_still_records_the_applied_version()
    {
        string applied = $$"""
            { "schemaVersion": 1, "type": "applied", "school": "{{SchoolA}}", "region": "almaty", "appliedVersion": 7,
              "rejected": [ { "version": 5, "reason": "class 9A\u0000 unknown" } ],
              "purged": [ { "consentId": "{{Incompressible(3200)}}", "templates": 1, "at": "2026-11-21T07:29:59+05:00" },
                          { "consentId": "del-0001", "templates": 2, "at": "2026-11-21T07:29:59+05:00" } ] }
            """;

        await Sessions().OnAppliedAsync($"kz/v1/almaty/{SchoolA}/up/acks", Encoding.UTF8.GetBytes(applied), CancellationToken.None);

        Assert.That(await CountAsync($"SELECT downlink_acked_version FROM schools WHERE id = '{SchoolA}'"), Is.EqualTo(7));
        Assert.That(await CountAsync($"SELECT count(*) FROM downlink_rejections WHERE school = '{SchoolA}' AND version = 5 AND reason = 'class 9A� unknown'"), Is.EqualTo(1));
        Assert.That(await CountAsync($"SELECT count(*) FROM purge_confirmations WHERE school = '{SchoolA}'"), Is.EqualTo(1), "an id no consent or deletion can have is left out");
        Assert.That(await CountAsync($"SELECT templates FROM purge_confirmations WHERE school = '{SchoolA}' AND consent_id = 'del-0001'"), Is.EqualTo(2));
    }
}
