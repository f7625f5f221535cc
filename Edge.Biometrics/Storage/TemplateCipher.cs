using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Unicode;
using System.Security.Cryptography;
using System.Text;

namespace Kezekshi.Edge.Biometrics.Storage;

/// <summary>
/// AES-256-GCM for templates and photos at rest: a fresh random 12-byte nonce per row and the
/// row's identity as associated data, so a ciphertext moved to another pupil, id or model fails to decrypt.
/// </summary>
internal sealed class TemplateCipher : IDisposable
{
    public const int NonceBytes = 12;
    public const int TagBytes = 16;
    private readonly AesGcm _aes;

    // Kept so the start-up load can give each decrypting thread its own AesGcm (TemplateBulkReader).
    private readonly byte[] _key;

    // AesGcm instances are not safe for concurrent use; enrolment and the start-up load may overlap.
    private readonly Lock _lock = new();

    public TemplateCipher(byte[] key)
    {
        _key = (byte[])key.Clone();
        _aes = new AesGcm(_key, TagBytes);
    }

    /// <summary>Another cipher over the same key, for one thread of a parallel decryption (AesGcm is not thread-safe).</summary>
    public TemplateCipher CreateWorker() => new(_key);

    public static byte[] AssociatedData(long pupilId, long rowId, string modelId, string kind) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{kind}|{pupilId}|{rowId}|{modelId}"));

    public (byte[] Nonce, byte[] Ciphertext, byte[] Tag) Encrypt(ReadOnlySpan<byte> plain, byte[] associatedData)
    {
        var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
        var ciphertext = new byte[plain.Length];
        var tag = new byte[TagBytes];
        lock (_lock)
            _aes.Encrypt(nonce, plain, ciphertext, tag, associatedData);
        return (nonce, ciphertext, tag);
    }

    public void Decrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> associatedData, Span<byte> plain, string what)
    {
        try
        {
            lock (_lock)
                _aes.Decrypt(nonce, ciphertext, tag, plain, associatedData);
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw IntegrityFailure(what, e);
        }
    }

    public (byte[] Nonce, byte[] Ciphertext, byte[] Tag) EncryptTemplate(float[] vector, long pupilId, long templateId, string modelId) =>
        Encrypt(MemoryMarshal.AsBytes(vector.AsSpan()), AssociatedData(pupilId, templateId, modelId, "template"));

    public float[] DecryptTemplate(byte[] nonce, byte[] ciphertext, byte[] tag, long pupilId, long templateId, string modelId)
    {
        var vector = new float[Dimensions(ciphertext.Length, pupilId, templateId)];
        DecryptTemplate(nonce, ciphertext, tag, pupilId, templateId, modelId, vector);
        return vector;
    }

    /// <summary>The template's dimensions from its ciphertext length (float32 little-endian), or a clear error.</summary>
    public static int Dimensions(int ciphertextBytes, long pupilId, long templateId) =>
        ciphertextBytes % sizeof(float) == 0
            ? ciphertextBytes / sizeof(float)
            : throw new BiometricsStoreException($"Template {templateId} of pupil {pupilId} has a damaged length ({ciphertextBytes} bytes). Re-enrol that pupil.");

    /// <summary>
    /// Decrypts one template into <paramref name="vector"/> without allocating: the start-up load's
    /// hot loop. Same checks and messages as <see cref="DecryptTemplate(byte[], byte[], byte[], long, long, string)"/>.
    /// </summary>
    public void DecryptTemplate(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, long pupilId, long templateId, string modelId, Span<float> vector)
    {
        if (nonce.Length != NonceBytes || tag.Length != TagBytes || ciphertext.Length != vector.Length * sizeof(float))
            throw new BiometricsStoreException($"Template {templateId} of pupil {pupilId} has a damaged length (nonce {nonce.Length}, tag {tag.Length}, ciphertext {ciphertext.Length} bytes). Re-enrol that pupil.");
        // The same associated data as AssociatedData(…, "template"), written on the stack when it fits.
        Span<byte> associated = stackalloc byte[256];
        associated = Utf8.TryWrite(associated, CultureInfo.InvariantCulture, $"template|{pupilId}|{templateId}|{modelId}", out int written)
            ? associated[..written]
            : AssociatedData(pupilId, templateId, modelId, "template");
        try
        {
            lock (_lock)
                _aes.Decrypt(nonce, ciphertext, tag, MemoryMarshal.AsBytes(vector), associated);
        }
        catch (AuthenticationTagMismatchException e)
        {
            // The message is built only here: the start-up load calls this 50,000 times.
            throw IntegrityFailure($"Template {templateId} of pupil {pupilId}", e);
        }
    }

    private static BiometricsStoreException IntegrityFailure(string what, Exception e) =>
        new($"{what} failed its integrity check: it was altered, moved to another row, or the key file is not the one it was written with. Re-enrol that pupil; if every template fails, restore the right key file.", e);

    public void Dispose()
    {
        _aes.Dispose();
        CryptographicOperations.ZeroMemory(_key);
    }
}
