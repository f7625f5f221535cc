using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.Cryptography;

namespace Kezekshi.Edge.Biometrics.Storage;

/// <summary>
/// The 256-bit key that encrypts templates at rest, kept in a key file next to biometrics.db.
/// </summary>
/// <remarks>
/// <para>Linux: the file holds the raw key and is created 0600 (owner only); a key file that group
/// or others can read is refused. Windows: the file holds the key protected with DPAPI
/// (<c>CryptProtectData</c>, the service user's scope), so a copy of the file is useless elsewhere.
/// The Windows path is compiled on every platform and chosen at run time; with no Windows machine
/// here it is run under Wine (tools/WindowsKeyProbe, TemplateKeyOnWindowsTests).</para>
/// <para>Losing the key file makes every template unreadable: pupils must re-enrol. That is by
/// design: wiping the key is also the fastest way to destroy all templates.</para>
/// </remarks>
public static partial class TemplateKey
{
    private const int KeyBytes = 32;
    private static readonly byte[] RawMagic = "KZBK1\n"u8.ToArray();
    private static readonly byte[] DpapiMagic = "KZBD1\n"u8.ToArray();

    /// <summary>Reads the key at <paramref name="path"/>, creating a new random key there if there is no file.</summary>
    public static byte[] LoadOrCreate(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return File.Exists(path) ? Load(path) : Create(path);
    }

    private static byte[] Create(string path)
    {
        var key = RandomNumberGenerator.GetBytes(KeyBytes);
        WriteSecretFile(path, OperatingSystem.IsWindows() ? [.. DpapiMagic, .. Dpapi.Protect(key)] : [.. RawMagic, .. key], "template key");
        return key;
    }

    /// <summary>
    /// Creates a secret key file (never overwrites one) readable only by its owner on Linux and flushed to disk;
    /// <paramref name="what"/> names it in the refusal ("template key", "template transfer key").
    /// </summary>
    internal static void WriteSecretFile(string path, byte[] content, string what)
    {
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using var stream = new FileStream(path, options);
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BiometricsStoreException($"Cannot create the {what} file {path}: {e.Message}. Give the service user write access to its directory.", e);
        }
    }

    /// <summary>
    /// Reads a secret key file (<paramref name="what"/>: "template key", "template transfer key") after checking
    /// that only its owner can read it on Linux; each refusal says what to run.
    /// </summary>
    internal static byte[] ReadSecretFile(string path, string what, string whileRefused = "")
    {
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
                throw new BiometricsStoreException($"The {what} file {path} can be read by other users (mode {Convert.ToString((int)mode, 8)}). Run: chmod 600 {path} (and chown it to the service user){whileRefused}.");
        }
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BiometricsStoreException($"Cannot read the {what} file {path}: {e.Message}. It must belong to the service user.", e);
        }
    }

    private static byte[] Load(string path)
    {
        byte[] content = ReadSecretFile(path, "template key", "; biometrics stay off until then");
        if (content.AsSpan().StartsWith(RawMagic) && content.Length == RawMagic.Length + KeyBytes)
            return content[RawMagic.Length..];
        if (content.AsSpan().StartsWith(DpapiMagic))
        {
            if (!OperatingSystem.IsWindows())
                throw new BiometricsStoreException($"The template key file {path} is DPAPI-protected (made on Windows) and cannot be opened here. Templates do not move between machines: re-enrol on this one.");
            return Dpapi.Unprotect(content[DpapiMagic.Length..], path);
        }
        throw new BiometricsStoreException($"The template key file {path} is not a Kezekshi key file (wrong header or length). If it was damaged, the stored templates cannot be read: move biometrics.db and the key aside and re-enrol.");
    }

    /// <summary>DPAPI through crypt32.dll; the key is bound to the service user's Windows profile.</summary>
    [SupportedOSPlatform("windows")]
    internal static partial class Dpapi
    {
        private const int UiForbidden = 0x1;

        public static byte[] Protect(byte[] plain) => Transform(plain, protect: true, "(new key)");

        public static byte[] Unprotect(byte[] protectedBytes, string path) => Transform(protectedBytes, protect: false, path);

        private static unsafe byte[] Transform(byte[] input, bool protect, string path)
        {
            fixed (byte* data = input)
            {
                var inBlob = new DataBlob { Size = input.Length, Data = (nint)data };
                bool ok = protect
                    ? CryptProtectData(ref inBlob, 0, 0, 0, 0, UiForbidden, out var outBlob)
                    : CryptUnprotectData(ref inBlob, 0, 0, 0, 0, UiForbidden, out outBlob);
                if (!ok)
                    throw new BiometricsStoreException($"DPAPI could not {(protect ? "protect" : "unprotect")} the template key {path} (Win32 error {Marshal.GetLastPInvokeError()}). The key file only opens under the Windows account that created it: run the service as that user, or re-enrol.");
                try { return new Span<byte>((void*)outBlob.Data, outBlob.Size).ToArray(); }
                finally { LocalFree(outBlob.Data); }
            }
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct DataBlob
        {
            public int Size;
            public nint Data;
        }

        [LibraryImport("crypt32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static partial bool CryptProtectData(ref DataBlob dataIn, nint description, nint entropy, nint reserved, nint prompt, int flags, out DataBlob dataOut);

        [LibraryImport("crypt32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static partial bool CryptUnprotectData(ref DataBlob dataIn, nint description, nint entropy, nint reserved, nint prompt, int flags, out DataBlob dataOut);

        [LibraryImport("kernel32.dll")]
        private static partial nint LocalFree(nint memory);
    }
}
