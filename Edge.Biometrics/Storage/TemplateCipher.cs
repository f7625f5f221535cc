using System.Globalization;
using System.Runtime.InteropServices;
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

    // AesGcm instances are not safe for concurrent use; enrolment and the start-up load may overlap.
    private readonly Lock _lock = new();

    public TemplateCipher(byte[] key) => _aes = new AesGcm(key, TagBytes);

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

    public void Decrypt(byte[] nonce, byte[] ciphertext, byte[] tag, byte[] associatedData, Span<byte> plain, string what)
    {
        try
        {
            lock (_lock)
                _aes.Decrypt(nonce, ciphertext, tag, plain, associatedData);
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new BiometricsStoreException($"{what} failed its integrity check: it was altered, moved to another row, or the key file is not the one it was written with. Re-enrol that pupil; if every template fails, restore the right key file.", e);
        }
    }

    public (byte[] Nonce, byte[] Ciphertext, byte[] Tag) EncryptTemplate(float[] vector, long pupilId, long templateId, string modelId) =>
        Encrypt(MemoryMarshal.AsBytes(vector.AsSpan()), AssociatedData(pupilId, templateId, modelId, "template"));

    public float[] DecryptTemplate(byte[] nonce, byte[] ciphertext, byte[] tag, long pupilId, long templateId, string modelId)
    {
        if (ciphertext.Length % sizeof(float) != 0)
            throw new BiometricsStoreException($"Template {templateId} of pupil {pupilId} has a damaged length ({ciphertext.Length} bytes). Re-enrol that pupil.");
        var vector = new float[ciphertext.Length / sizeof(float)];
        Decrypt(nonce, ciphertext, tag, AssociatedData(pupilId, templateId, modelId, "template"), MemoryMarshal.AsBytes(vector.AsSpan()), $"Template {templateId} of pupil {pupilId}");
        return vector;
    }

    public void Dispose() => _aes.Dispose();
}
