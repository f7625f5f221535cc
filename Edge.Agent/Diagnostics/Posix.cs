using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Kezekshi.Edge.Agent.Diagnostics;

/// <summary>What <c>statx(2)</c> says about a path: its type, mode bits and owners.</summary>
internal readonly record struct FileStatus(uint Mode, uint Uid, uint Gid)
{
    private const uint TypeMask = 0xF000; // S_IFMT
    public bool IsCharacterDevice => (Mode & TypeMask) == 0x2000; // S_IFCHR
    public bool IsDirectory => (Mode & TypeMask) == 0x4000; // S_IFDIR
    public string TypeName => (Mode & TypeMask) switch
    {
        0x2000 => "character device",
        0x4000 => "directory",
        0x6000 => "block device",
        0x8000 => "regular file",
        0x1000 => "pipe",
        0xC000 => "socket",
        _ => "special file",
    };
}

/// <summary>
/// The few libc calls <c>doctor</c> needs: <c>statx</c> (its struct has one layout on every architecture,
/// unlike <c>struct stat</c>; linux/stat.h), <c>access</c>, and the process's user and groups.
/// </summary>
[SupportedOSPlatform("linux")]
internal static unsafe partial class Posix
{
    private const string Lib = "libc";
    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1, StatxMode = 0x2, StatxUid = 0x8, StatxGid = 0x10;
    public const int ROk = 4, WOk = 2, XOk = 1;

    [LibraryImport(Lib, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport(Lib, EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int access(string path, int mode);

    [LibraryImport(Lib, EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    [LibraryImport(Lib, EntryPoint = "getegid")]
    private static partial uint getegid();

    [LibraryImport(Lib, EntryPoint = "getgroups", SetLastError = true)]
    private static partial int getgroups(int size, uint* list);

    /// <summary>statx of <paramref name="path"/> (following symbolic links, as open does); null with the errno if it fails.</summary>
    public static FileStatus? Stat(string path, out int errno)
    {
        byte* buffer = stackalloc byte[256]; // sizeof(struct statx)
        if (statx(AtFdCwd, path, 0, StatxType | StatxMode | StatxUid | StatxGid, buffer) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        errno = 0;
        // struct statx: stx_uid at 20, stx_gid at 24, stx_mode (u16) at 28.
        return new FileStatus(*(ushort*)(buffer + 28), *(uint*)(buffer + 20), *(uint*)(buffer + 24));
    }

    /// <summary>access(2) with the real user and groups; 0 when allowed, else the errno.</summary>
    public static int Access(string path, int mode) => access(path, mode) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>The effective group and the supplementary groups of this process.</summary>
    public static IReadOnlySet<uint> ProcessGroups()
    {
        var groups = new HashSet<uint> { getegid() };
        int count = getgroups(0, null);
        if (count > 0)
        {
            uint[] list = new uint[count];
            fixed (uint* p = list) count = getgroups(count, p);
            for (int i = 0; i < count; i++) groups.Add(list[i]);
        }
        return groups;
    }

    /// <summary>The group's name and members from /etc/group (null if not listed there, e.g. from LDAP).</summary>
    public static (string Name, IReadOnlyList<string> Members)? Group(uint gid)
    {
        try
        {
            foreach (string line in File.ReadLines("/etc/group"))
            {
                string[] fields = line.Split(':');
                if (fields.Length >= 4 && uint.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint id) && id == gid)
                    return (fields[0], fields[3].Split(',', StringSplitOptions.RemoveEmptyEntries));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>strerror-like text for the errno values doctor meets.</summary>
    public static string Describe(int errno) => errno switch
    {
        1 => "operation not permitted",
        2 => "no such file or directory",
        13 => "permission denied",
        20 => "a path component is not a directory",
        30 => "read-only file system",
        _ => $"errno {errno}",
    };
}
