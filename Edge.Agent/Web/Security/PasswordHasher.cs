using System.Security.Cryptography;
using System.Text;

namespace Kezekshi.Edge.Agent.Web.Security;

/// <summary>A stored password: PBKDF2-HMAC-SHA256 of the password with a per-account random salt.</summary>
public sealed record PasswordHash(byte[] Hash, byte[] Salt, int Iterations);

/// <summary>
/// Hashes and checks staff passwords with PBKDF2-HMAC-SHA256 (<see cref="Rfc2898DeriveBytes.Pbkdf2(byte[], byte[], int, HashAlgorithmName, int)"/>).
/// </summary>
/// <remarks>
/// 600,000 iterations is OWASP's 2023 figure for PBKDF2-HMAC-SHA256. The count is stored with each hash so it
/// can be raised without invalidating existing passwords. Comparison is constant-time
/// (<see cref="CryptographicOperations.FixedTimeEquals"/>) so the time taken does not reveal how much matched.
/// The login rate limit (see <see cref="LoginThrottle"/>) keeps the CPU cost of wrong guesses bounded.
/// </remarks>
public static class PasswordHasher
{
    public const int DefaultIterations = 600_000;
    public const int MinimumIterations = 100_000;
    private const int HashBytes = 32;
    private const int SaltBytes = 16;

    public static PasswordHash Hash(string password, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (iterations < MinimumIterations) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, $"at least {MinimumIterations} iterations");
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        return new PasswordHash(Derive(password, salt, iterations), salt, iterations);
    }

    public static bool Verify(string password, PasswordHash stored)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(stored);
        var candidate = Derive(password, stored.Salt, stored.Iterations);
        return CryptographicOperations.FixedTimeEquals(candidate, stored.Hash);
    }

    private static byte[] Derive(string password, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);

    /// <summary>A one-time password for a new or reset account: 12 characters without look-alikes (no 0/O, 1/l/I).</summary>
    public static string NewOneTimePassword()
    {
        const string alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        return RandomNumberGenerator.GetString(alphabet, 12);
    }

    /// <summary>Why a new password is not acceptable, or null.</summary>
    public static string? Weakness(string password, string accountName)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (password.Length < 10) return "The password must have at least 10 characters.";
        if (password.Contains(accountName, StringComparison.OrdinalIgnoreCase)) return "The password must not contain the account name.";
        if (password.Distinct().Count() < 5) return "The password repeats too few different characters; choose a longer phrase.";
        return null;
    }
}
