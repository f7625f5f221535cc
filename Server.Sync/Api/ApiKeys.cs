using System.Security.Cryptography;
using System.Text;

namespace Kezekshi.Server.Sync.Api;

/// <summary>The callers of the centre's HTTP API, each with its own key (<c>Centre:ApiKeys:{role}</c>).</summary>
public static class ApiRoles
{
    /// <summary>The centre's administration (education department IT): roster, cards, consents, top-ups.</summary>
    public const string Admin = "admin";

    /// <summary>Region dashboards and the school list.</summary>
    public const string Region = "region";

    /// <summary>The parent portal's back end: a guardian's own children, and top-ups from the payment provider.</summary>
    public const string ParentPortal = "parent-portal";

    /// <summary>Every role, in the order keys are checked.</summary>
    public static readonly IReadOnlyList<string> All = [Admin, Region, ParentPortal];
}

/// <summary>
/// The configured API keys, kept as SHA-256 digests and compared in constant time: the time a wrong key takes to refuse
/// says nothing about the right one, whatever its length.
/// </summary>
/// <remarks>
/// An API key per role is what this service checks itself. A real deployment puts the national identity provider
/// (eGov IDP / OpenID Connect) in front, on the gateway that terminates TLS; the keys then identify that gateway and the
/// portal back end, not people. See docs/centre-api.md "Authentication".
/// </remarks>
public sealed class ApiKeyRing
{
    /// <summary>The shortest key accepted: 16 characters (e.g. <c>openssl rand -hex 32</c> gives 64).</summary>
    public const int MinimumKeyLength = 16;

    /// <summary>The request header that carries the key.</summary>
    public const string Header = "X-Api-Key";

    private readonly List<(string Role, byte[] Digest)> _keys = [];

    /// <summary>Builds the ring from <c>role → key</c>; roles without a key are disabled (every call for them gets 401).</summary>
    /// <exception cref="InvalidOperationException">A key is too short or two roles share one; the message says which and what to do.</exception>
    public ApiKeyRing(IReadOnlyDictionary<string, string?> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var (role, key) in keys)
        {
            if (!ApiRoles.All.Contains(role))
                throw new InvalidOperationException($"Centre:ApiKeys:{role} is not a role; the roles are {string.Join(", ", ApiRoles.All)}.");
            if (string.IsNullOrEmpty(key)) continue;
            if (key.Length < MinimumKeyLength)
                throw new InvalidOperationException($"Centre:ApiKeys:{role} is shorter than {MinimumKeyLength} characters: generate one with `openssl rand -hex 32`.");
            var digest = SHA256.HashData(Encoding.UTF8.GetBytes(key));
            if (_keys.Any(k => CryptographicOperations.FixedTimeEquals(k.Digest, digest)))
                throw new InvalidOperationException($"Centre:ApiKeys:{role} is the same key as another role: give every role its own key.");
            _keys.Add((role, digest));
        }
    }

    /// <summary>Roles that have a key.</summary>
    public IEnumerable<string> EnabledRoles => _keys.Select(k => k.Role);

    /// <summary>The role whose key <paramref name="presented"/> is, or null. Every configured key is compared, match or not.</summary>
    public string? RoleOf(string? presented)
    {
        if (string.IsNullOrEmpty(presented) || presented.Length > 512) return null;
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        string? role = null;
        foreach (var (keyRole, keyDigest) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(keyDigest, digest)) role = keyRole;
        }
        return role;
    }
}
