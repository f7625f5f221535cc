using System.Runtime.InteropServices;

namespace Kezekshi.Edge.Devices.Transport.Serial;

/// <summary>glibc's <c>struct termios</c> on Linux x86_64 and arm64 (60 bytes; termios(3), bits/termios-struct.h).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Termios
{
    public uint c_iflag;
    public uint c_oflag;
    public uint c_cflag;
    public uint c_lflag;
    public byte c_line;
    public fixed byte c_cc[32];
    public uint c_ispeed;
    public uint c_ospeed;
}

/// <summary>Linux <c>struct serial_rs485</c> (include/uapi/linux/serial.h; Documentation/driver-api/serial/serial-rs485.rst).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SerialRs485
{
    public uint flags;
    public uint delay_rts_before_send;
    public uint delay_rts_after_send;
    public fixed uint padding[5];
}

/// <summary><c>struct pollfd</c> (poll(2)).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PollFd
{
    public int fd;
    public short events;
    public short revents;
}

/// <summary>
/// The libc calls and constants the Linux serial port and the pseudo-terminal use. Values are the
/// asm-generic ones shared by x86_64 and arm64 (include/uapi/asm-generic/termbits.h, ioctls.h, fcntl.h, errno-base.h).
/// </summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    // open(2) flags
    public const int O_RDWR = 0x2;
    public const int O_NOCTTY = 0x100;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;

    // fcntl(2)
    public const int F_SETFD = 2;
    public const int F_GETFL = 3;
    public const int F_SETFL = 4;
    public const int FD_CLOEXEC = 1;

    // errno
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ENXIO = 6;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int ENOTTY = 25;

    // poll(2)
    public const short POLLIN = 0x1;
    public const short POLLOUT = 0x4;
    public const short POLLERR = 0x8;
    public const short POLLHUP = 0x10;
    public const short POLLNVAL = 0x20;

    // termios c_cflag
    public const uint CSIZE = 0x30;
    public const uint CS7 = 0x20;
    public const uint CS8 = 0x30;
    public const uint CSTOPB = 0x40;
    public const uint CREAD = 0x80;
    public const uint PARENB = 0x100;
    public const uint PARODD = 0x200;
    public const uint HUPCL = 0x400;
    public const uint CLOCAL = 0x800;
    public const uint CRTSCTS = 0x80000000;
    public const uint CBAUD = 0x100F;

    // termios c_lflag / c_iflag bits cfmakeraw clears (used to check "raw")
    public const uint ICANON = 0x2;
    public const uint ECHO = 0x8;
    public const uint ISIG = 0x1;
    public const uint IXON = 0x400;
    public const uint ICRNL = 0x100;
    public const uint OPOST = 0x1;

    public const int VTIME = 5;
    public const int VMIN = 6;

    public const int TCSANOW = 0;
    public const int TCIFLUSH = 0;
    public const int TCOFLUSH = 1;
    public const int TCIOFLUSH = 2;

    // ioctl requests
    public const nuint TIOCEXCL = 0x540C;
    public const nuint TIOCNXCL = 0x540D;
    public const nuint TIOCGEXCL = 0x80045440;
    public const nuint TIOCMGET = 0x5415;
    public const nuint TIOCMBIS = 0x5416;
    public const nuint TIOCMBIC = 0x5417;
    public const nuint TIOCGRS485 = 0x542E;
    public const nuint TIOCSRS485 = 0x542F;
    public const int TIOCM_RTS = 0x004;

    public const uint SER_RS485_ENABLED = 1;
    public const uint SER_RS485_RTS_ON_SEND = 2;

    public const int EFD_CLOEXEC = O_CLOEXEC;
    public const int EFD_NONBLOCK = O_NONBLOCK;

    [LibraryImport(Lib, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int open(string path, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* argument);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fcntl(int fd, int command, int argument);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int eventfd(uint initialValue, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int tcgetattr(int fd, Termios* termios);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int tcsetattr(int fd, int optionalActions, Termios* termios);

    [LibraryImport(Lib)]
    public static partial void cfmakeraw(Termios* termios);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int cfsetispeed(Termios* termios, uint speed);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int cfsetospeed(Termios* termios, uint speed);

    [LibraryImport(Lib)]
    public static partial uint cfgetispeed(Termios* termios);

    [LibraryImport(Lib)]
    public static partial uint cfgetospeed(Termios* termios);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int tcflush(int fd, int queueSelector);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int tcdrain(int fd);

    [LibraryImport(Lib, EntryPoint = "openpty", SetLastError = true)]
    private static partial int openpty_libc(int* master, int* slave, byte* name, Termios* termios, void* windowSize);

    [LibraryImport("libutil.so.1", EntryPoint = "openpty", SetLastError = true)]
    private static partial int openpty_libutil(int* master, int* slave, byte* name, Termios* termios, void* windowSize);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ptsname_r(int fd, byte* buffer, nuint length);

    /// <summary>openpty(3): in libc.so.6 since glibc 2.34, in libutil.so.1 before.</summary>
    public static int openpty(int* master, int* slave)
    {
        try
        {
            return openpty_libc(master, slave, null, null, null);
        }
        catch (EntryPointNotFoundException)
        {
            return openpty_libutil(master, slave, null, null, null);
        }
    }

    /// <summary>errno of the last libc call made with SetLastError.</summary>
    public static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>strerror text, e.g. "No such file or directory".</summary>
    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}

/// <summary>
/// Converts baud rates to and from glibc's <c>speed_t</c>, whose meaning changed in glibc 2.42.
/// </summary>
/// <remarks>
/// Up to glibc 2.41, <c>speed_t</c> holds the B-constants (B9600 = 0x0D, B115200 = 0x1002); glibc 2.42
/// made it the plain number of bits per second for newly bound symbols, which is what a P/Invoke
/// binds to. Rather than guess from the version, we ask glibc once: if <c>cfsetospeed(9600)</c>
/// succeeds and reads back as 9600 the encoding is numeric, otherwise it is the B-constants.
/// </remarks>
internal static unsafe class TermiosSpeed
{
    private static readonly (int Baud, uint Code)[] _legacyCodes =
    [
        (1200, 0x9), (2400, 0xB), (4800, 0xC), (9600, 0xD), (19200, 0xE), (38400, 0xF),
        (57600, 0x1001), (115200, 0x1002), (230400, 0x1003), (460800, 0x1004), (921600, 0x1007),
    ];

    private static readonly Lazy<bool> _numeric = new(ProbeNumeric);

    /// <summary>True when this glibc takes bits per second in <c>speed_t</c>.</summary>
    public static bool IsNumeric => _numeric.Value;

    public static uint Encode(int baudRate)
    {
        if (IsNumeric) return (uint)baudRate;
        foreach (var (baud, code) in _legacyCodes)
            if (baud == baudRate) return code;
        throw new ArgumentOutOfRangeException(nameof(baudRate), baudRate, "Not a standard baud rate.");
    }

    /// <summary>The baud rate a <c>speed_t</c> stands for; -1 if unknown.</summary>
    public static int Decode(uint speed)
    {
        if (IsNumeric) return (int)speed;
        foreach (var (baud, code) in _legacyCodes)
            if (code == speed) return baud;
        return -1;
    }

    private static bool ProbeNumeric()
    {
        Termios probe = default;
        Libc.cfmakeraw(&probe);
        return Libc.cfsetospeed(&probe, 9600) == 0 && Libc.cfgetospeed(&probe) == 9600;
    }
}
