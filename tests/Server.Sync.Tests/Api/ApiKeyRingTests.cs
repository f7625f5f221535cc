using Kezekshi.Server.Sync.Api;

namespace Kezekshi.Server.Sync.Tests.Api;

[Category("Unit")]
public sealed class ApiKeyRingTests
{
    private static ApiKeyRing Ring(params (string Role, string? Key)[] keys) => new(keys.ToDictionary(k => k.Role, k => k.Key));

    [Test]
    public void A_key_names_its_role_and_nothing_else_does()
    {
        var ring = Ring(("admin", "admin-key-0123456789"), ("region", "region-key-0123456789"), ("parent-portal", null));

        Assert.That(ring.RoleOf("admin-key-0123456789"), Is.EqualTo("admin"));
        Assert.That(ring.RoleOf("region-key-0123456789"), Is.EqualTo("region"));
        Assert.That(ring.RoleOf("admin-key-012345678"), Is.Null, "a prefix of a key is not the key");
        Assert.That(ring.RoleOf("ADMIN-KEY-0123456789"), Is.Null);
        Assert.That(ring.RoleOf(""), Is.Null);
        Assert.That(ring.RoleOf(null), Is.Null);
        Assert.That(ring.EnabledRoles, Is.EquivalentTo(new[] { "admin", "region" }), "a role without a key is disabled");
    }

    [Test]
    public void A_short_key_a_shared_key_or_an_unknown_role_stops_the_start_with_the_reason()
    {
        var shortKey = Assert.Throws<InvalidOperationException>(() => Ring(("admin", "short")));
        Assert.That(shortKey!.Message, Does.Contain("Centre:ApiKeys:admin").And.Contain("openssl rand"));
        var shared = Assert.Throws<InvalidOperationException>(() => Ring(("admin", "same-key-0123456789"), ("region", "same-key-0123456789")));
        Assert.That(shared!.Message, Does.Contain("its own key"));
        var unknown = Assert.Throws<InvalidOperationException>(() => Ring(("superuser", "superuser-key-0123456789")));
        Assert.That(unknown!.Message, Does.Contain("admin, region, parent-portal"));
    }
}
