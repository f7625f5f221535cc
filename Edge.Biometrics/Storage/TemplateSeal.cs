using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Kezekshi.Edge.Biometrics.Storage;

/// <summary>
/// A template sealed for one school's public key (docs/sync-protocol.md §5.3). Everything but <see cref="Ciphertext"/>
/// is in the clear and bound to it as associated data, so the centre can route it but not read or re-address it.
/// </summary>
/// <param name="TemplateId">The source school's name for it: <c>{sourceSchool}.t{id}</c>; the receiving school's idempotence key.</param>
/// <param name="Epk">The sender's ephemeral P-256 public key (SubjectPublicKeyInfo, base64).</param>
public sealed record SealedTemplate(string TemplateId, long PupilId, string Modality, string Model, float Quality, string SourceSchool,
    string TargetSchool, string KeyId, string Alg, string Epk, string Nonce, string Ciphertext, string Tag);

/// <summary>Why a sealed template was refused; <see cref="Reason"/> is a short code for the centre's rejection list.</summary>
public sealed class TemplateSealException : Exception
{
    public TemplateSealException() { Reason = "invalid"; }
    public TemplateSealException(string message) : base(message) { Reason = "invalid"; }
    public TemplateSealException(string message, Exception inner) : base(message, inner) { Reason = "invalid"; }
    public TemplateSealException(string reason, string message, Exception? inner = null) : base($"{reason}: {message}", inner) { Reason = reason; }

    /// <summary><c>wrong-school</c>, <c>wrong-key</c>, <c>tampered</c>, <c>malformed</c>, <c>no-consent</c>.</summary>
    public string Reason { get; }
}

/// <summary>
/// ECIES over P-256: an ephemeral ECDH key agreement with the recipient's public key, HKDF-SHA256 to a one-time
/// AES-256 key, AES-256-GCM over the template vector (float32, little-endian) with the routing fields as associated data.
/// </summary>
/// <remarks>
/// Why not RSA key wrapping: ECDH keys are small enough for <c>hello</c> and the per-template ephemeral key gives forward
/// secrecy against a later leak of the sender's files (the sender keeps nothing). The associated data binds the target
/// school, the pupil's pseudonymous id, the modality, the model, the template id, the recipient key id and the quality:
/// a ciphertext moved to another pupil or school, or any changed byte, fails the GCM tag.
/// </remarks>
public static class TemplateSeal
{
    public const string Algorithm = "ECDH-ES-P256+HKDF-SHA256+A256GCM";
    private static readonly byte[] Info = "kezekshi template transfer v1"u8.ToArray();

    /// <summary>Seals <paramref name="vector"/> for the school holding the private half of <paramref name="recipientPublicKey"/>.</summary>
    public static SealedTemplate Seal(ReadOnlySpan<float> vector, byte[] recipientPublicKey, string sourceSchool, string targetSchool, long pupilId,
        string modality, string model, float quality, string templateId)
    {
        ArgumentNullException.ThrowIfNull(recipientPublicKey);
        if (SchoolKeyPair.ProblemWith(recipientPublicKey) is { } problem)
            throw new TemplateSealException("wrong-key", $"school {targetSchool}'s public key is unusable ({problem}); it sends a new one in its next hello");
        string keyId = SchoolKeyPair.KeyIdOf(recipientPublicKey);
        using var recipient = ECDiffieHellman.Create();
        recipient.ImportSubjectPublicKeyInfo(recipientPublicKey, out _);
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        byte[] epk = ephemeral.ExportSubjectPublicKeyInfo();
        byte[] key = DeriveKey(ephemeral.DeriveRawSecretAgreement(recipient.PublicKey), epk, recipientPublicKey);
        var plain = MemoryMarshal.AsBytes(vector);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var ciphertext = new byte[plain.Length];
        var tag = new byte[16];
        try
        {
            using var aes = new AesGcm(key, 16);
            aes.Encrypt(nonce, plain, ciphertext, tag, AssociatedData(targetSchool, pupilId, modality, model, templateId, keyId, sourceSchool, quality));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
        return new SealedTemplate(templateId, pupilId, modality, model, quality, sourceSchool, targetSchool, keyId, Algorithm,
            Convert.ToBase64String(epk), Convert.ToBase64String(nonce), Convert.ToBase64String(ciphertext), Convert.ToBase64String(tag));
    }

    /// <summary>Opens a template sealed for <paramref name="school"/>; throws <see cref="TemplateSealException"/> saying why it cannot.</summary>
    public static float[] Open(SchoolKeyPair keys, string school, SealedTemplate sealedTemplate)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(sealedTemplate);
        var s = sealedTemplate;
        if (s.Alg != Algorithm) throw new TemplateSealException("malformed", $"template {s.TemplateId} uses alg {s.Alg}; this agent opens {Algorithm} only");
        if (s.TargetSchool != school)
            throw new TemplateSealException("wrong-school", $"template {s.TemplateId} was sealed for school {s.TargetSchool}, this is {school}: the centre routed it wrongly");
        if (s.KeyId != keys.KeyId)
            throw new TemplateSealException("wrong-key", $"template {s.TemplateId} was sealed for key {s.KeyId}, this school's key is {keys.KeyId} (the key file was replaced?): request the transfer again");
        byte[] epk, nonce, ciphertext, tag;
        try
        {
            (epk, nonce, ciphertext, tag) = (Convert.FromBase64String(s.Epk), Convert.FromBase64String(s.Nonce), Convert.FromBase64String(s.Ciphertext), Convert.FromBase64String(s.Tag));
        }
        catch (FormatException e)
        {
            throw new TemplateSealException("malformed", $"template {s.TemplateId} has a field that is not base64", e);
        }
        if (nonce.Length != 12 || tag.Length != 16 || ciphertext.Length % sizeof(float) != 0 || ciphertext.Length / sizeof(float) is < 16 or > 4096)
            throw new TemplateSealException("malformed", $"template {s.TemplateId} has a nonce, tag or ciphertext of the wrong length");
        if (SchoolKeyPair.ProblemWith(epk) is { } problem)
            throw new TemplateSealException("malformed", $"template {s.TemplateId}'s ephemeral key is unusable ({problem})");
        using var ephemeral = ECDiffieHellman.Create();
        ephemeral.ImportSubjectPublicKeyInfo(epk, out _);
        byte[] key = DeriveKey(keys.Key.DeriveRawSecretAgreement(ephemeral.PublicKey), epk, keys.PublicKey);
        var vector = new float[ciphertext.Length / sizeof(float)];
        try
        {
            using var aes = new AesGcm(key, 16);
            aes.Decrypt(nonce, ciphertext, tag, MemoryMarshal.AsBytes(vector.AsSpan()),
                AssociatedData(s.TargetSchool, s.PupilId, s.Modality, s.Model, s.TemplateId, s.KeyId, s.SourceSchool, s.Quality));
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new TemplateSealException("tampered", $"template {s.TemplateId} failed its integrity check: the ciphertext or one of its fields (pupil, model, school) was altered on the way", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
        foreach (float x in vector)
            if (!float.IsFinite(x)) throw new TemplateSealException("malformed", $"template {s.TemplateId} holds a value that is not a finite number");
        return vector;
    }

    private static byte[] DeriveKey(byte[] shared, byte[] epk, byte[] recipient)
    {
        try
        {
            return HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, 32, [.. epk, .. recipient], Info);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
        }
    }

    private static byte[] AssociatedData(string targetSchool, long pupilId, string modality, string model, string templateId, string keyId, string sourceSchool, float quality) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"kz-template-v1|{targetSchool}|{pupilId}|{modality}|{model}|{templateId}|{keyId}|{sourceSchool}|{quality:R}"));
}
