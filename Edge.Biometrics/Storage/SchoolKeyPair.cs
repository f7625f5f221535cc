using System.Security.Cryptography;

namespace Kezekshi.Edge.Biometrics.Storage;

/// <summary>
/// The school's long-term ECDH P-256 key pair for receiving templates enrolled at another school (docs/sync-protocol.md
/// §5.3). The public key travels to the centre in <c>hello</c>; templates sealed for it can be opened only here.
/// </summary>
/// <remarks>
/// <para>Kept next to the template key, created on first use. Linux: the file holds the PKCS#8 private key and is created
/// 0600; a file that group or others can read is refused, like the template key. Windows: the PKCS#8 bytes are protected
/// with DPAPI (compiled everywhere, NOT tested here: the CI machines are Linux).</para>
/// <para>Losing the file only means templates in transit to this school cannot be opened: the school says hello with its
/// new public key and a transfer requested again seals for that one. Templates already received are re-encrypted under
/// the at-rest template key and do not depend on this pair.</para>
/// </remarks>
public sealed class SchoolKeyPair : IDisposable
{
    private static readonly byte[] RawMagic = "KZBE1\n"u8.ToArray();
    private static readonly byte[] DpapiMagic = "KZBF1\n"u8.ToArray();

    private SchoolKeyPair(ECDiffieHellman key)
    {
        Key = key;
        PublicKey = key.ExportSubjectPublicKeyInfo();
        KeyId = KeyIdOf(PublicKey);
    }

    /// <summary>The public key, DER SubjectPublicKeyInfo (what <c>hello.templateKey.publicKey</c> carries in base64).</summary>
    public byte[] PublicKey { get; }

    /// <summary><c>k-</c> and the first 16 hex digits of SHA-256 of <see cref="PublicKey"/>: names the key in sealed templates.</summary>
    public string KeyId { get; }

    internal ECDiffieHellman Key { get; }

    /// <summary>The key id of a public key (SubjectPublicKeyInfo DER).</summary>
    public static string KeyIdOf(ReadOnlySpan<byte> publicKey) => "k-" + Convert.ToHexStringLower(SHA256.HashData(publicKey))[..16];

    /// <summary>Reads the key pair at <paramref name="path"/>, creating a new one there if there is no file.</summary>
    public static SchoolKeyPair LoadOrCreate(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return File.Exists(path) ? Load(path) : Create(path);
    }

    /// <summary>Checks that <paramref name="publicKey"/> is a P-256 SubjectPublicKeyInfo; returns the reason when it is not.</summary>
    public static string? ProblemWith(ReadOnlySpan<byte> publicKey)
    {
        try
        {
            using var key = ECDiffieHellman.Create();
            key.ImportSubjectPublicKeyInfo(publicKey, out int read);
            if (read != publicKey.Length) return "trailing bytes after the public key";
            var parameters = key.ExportParameters(false);
            return parameters.Curve.Oid.Value == ECCurve.NamedCurves.nistP256.Oid.Value ? null : $"curve {parameters.Curve.Oid.FriendlyName ?? parameters.Curve.Oid.Value} is not P-256";
        }
        catch (CryptographicException e)
        {
            return $"not an EC public key ({e.Message})";
        }
    }

    private static SchoolKeyPair Create(string path)
    {
        var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        byte[] pkcs8 = key.ExportPkcs8PrivateKey();
        byte[] content = OperatingSystem.IsWindows() ? [.. DpapiMagic, .. TemplateKey.Dpapi.Protect(pkcs8)] : [.. RawMagic, .. pkcs8];
        CryptographicOperations.ZeroMemory(pkcs8);
        try
        {
            TemplateKey.WriteSecretFile(path, content, "template transfer key");
        }
        catch (BiometricsStoreException)
        {
            key.Dispose();
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(content);
        }
        return new SchoolKeyPair(key);
    }

    private static SchoolKeyPair Load(string path)
    {
        byte[] content = TemplateKey.ReadSecretFile(path, "template transfer key");
        byte[] pkcs8;
        if (content.AsSpan().StartsWith(RawMagic)) pkcs8 = content[RawMagic.Length..];
        else if (content.AsSpan().StartsWith(DpapiMagic) && OperatingSystem.IsWindows()) pkcs8 = TemplateKey.Dpapi.Unprotect(content[DpapiMagic.Length..], path);
        else
            throw new BiometricsStoreException($"The template transfer key file {path} is not a Kezekshi key pair file (wrong header, or DPAPI-protected on another machine). Move it aside: a new pair is made at the next start and transfers are requested again.");
        var key = ECDiffieHellman.Create();
        try
        {
            key.ImportPkcs8PrivateKey(pkcs8, out _);
            if (key.KeySize != 256) throw new CryptographicException($"key size {key.KeySize}, expected P-256");
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new BiometricsStoreException($"The template transfer key file {path} is damaged ({e.Message}). Move it aside: a new pair is made at the next start and transfers are requested again.", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
            CryptographicOperations.ZeroMemory(content);
        }
        return new SchoolKeyPair(key);
    }

    public void Dispose() => Key.Dispose();
}
