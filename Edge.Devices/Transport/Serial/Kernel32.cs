using System.Runtime.InteropServices;

namespace Kezekshi.Edge.Devices.Transport.Serial;

/// <summary>Win32 <c>DCB</c> (winbase.h), 28 bytes; the second DWORD of flags is a C bitfield, see <see cref="DcbFlags"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Dcb
{
    public uint DCBlength;
    public uint BaudRate;
    public uint Flags;
    public ushort wReserved;
    public ushort XonLim;
    public ushort XoffLim;
    public byte ByteSize;
    public byte Parity;
    public byte StopBits;
    public byte XonChar;
    public byte XoffChar;
    public byte ErrorChar;
    public byte EofChar;
    public byte EvtChar;
    public ushort wReserved1;
}

/// <summary>
/// Bit positions of the DCB bitfield dword, in declaration order (MSVC allocates bitfields from the
/// least significant bit): fBinary:1, fParity:1, fOutxCtsFlow:1, fOutxDsrFlow:1, fDtrControl:2,
/// fDsrSensitivity:1, fTXContinueOnXoff:1, fOutX:1, fInX:1, fErrorChar:1, fNull:1, fRtsControl:2,
/// fAbortOnError:1, fDummy2:17.
/// </summary>
internal static class DcbFlags
{
    public const int Binary = 0;
    public const int ParityCheck = 1;
    public const int OutxCtsFlow = 2;
    public const int OutxDsrFlow = 3;
    public const int DtrControl = 4;      // 2 bits
    public const int DsrSensitivity = 6;
    public const int TxContinueOnXoff = 7;
    public const int OutX = 8;
    public const int InX = 9;
    public const int ErrorChar = 10;
    public const int Null = 11;
    public const int RtsControl = 12;     // 2 bits
    public const int AbortOnError = 14;

    public const uint DTR_CONTROL_ENABLE = 1;
    public const uint RTS_CONTROL_DISABLE = 0;
    public const uint RTS_CONTROL_ENABLE = 1;
    public const uint RTS_CONTROL_TOGGLE = 3;

    public static uint Set(uint flags, int position, uint value, int width = 1)
    {
        uint mask = ((1u << width) - 1) << position;
        return (flags & ~mask) | ((value << position) & mask);
    }

    public static uint Get(uint flags, int position, int width = 1) => (flags >> position) & ((1u << width) - 1);

    /// <summary>Sets line settings and flags: binary, no flow control, no parity checking (the frame CRC judges bytes), DTR on.</summary>
    public static unsafe void Apply(ref Dcb dcb, SerialPortSettings settings, uint rtsControl)
    {
        dcb.DCBlength = (uint)sizeof(Dcb);
        dcb.BaudRate = (uint)settings.BaudRate;
        dcb.ByteSize = (byte)settings.DataBits;
        dcb.Parity = settings.Parity switch { Parity.Even => Kernel32.EVENPARITY, Parity.Odd => Kernel32.ODDPARITY, _ => Kernel32.NOPARITY };
        dcb.StopBits = settings.StopBits == StopBits.Two ? Kernel32.TWOSTOPBITS : Kernel32.ONESTOPBIT;
        uint f = 0;
        f = DcbFlags.Set(f, DcbFlags.Binary, 1);
        f = DcbFlags.Set(f, DcbFlags.DtrControl, DcbFlags.DTR_CONTROL_ENABLE, 2);
        f = DcbFlags.Set(f, DcbFlags.RtsControl, rtsControl, 2);
        dcb.Flags = f; // everything else 0: no CTS/DSR/XON flow control, no error char, no abort on error
    }
}

/// <summary>Win32 <c>COMMTIMEOUTS</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CommTimeouts
{
    public uint ReadIntervalTimeout;
    public uint ReadTotalTimeoutMultiplier;
    public uint ReadTotalTimeoutConstant;
    public uint WriteTotalTimeoutMultiplier;
    public uint WriteTotalTimeoutConstant;
}

/// <summary>The kernel32 comm API used by <see cref="WindowsSerialPort"/>.</summary>
internal static unsafe partial class Kernel32
{
    private const string Lib = "kernel32.dll";

    public const uint GENERIC_READ = 0x80000000;
    public const uint GENERIC_WRITE = 0x40000000;
    public const uint OPEN_EXISTING = 3;
    public const uint FILE_FLAG_OVERLAPPED = 0x40000000;
    public static readonly nint InvalidHandleValue = -1;

    public const byte NOPARITY = 0;
    public const byte ODDPARITY = 1;
    public const byte EVENPARITY = 2;
    public const byte ONESTOPBIT = 0;
    public const byte TWOSTOPBITS = 2;

    public const uint PURGE_TXABORT = 0x1;
    public const uint PURGE_RXABORT = 0x2;
    public const uint PURGE_TXCLEAR = 0x4;
    public const uint PURGE_RXCLEAR = 0x8;

    public const uint SETRTS = 3;
    public const uint CLRRTS = 4;

    public const uint MAXDWORD = 0xFFFFFFFF;

    public const int ERROR_FILE_NOT_FOUND = 2;
    public const int ERROR_PATH_NOT_FOUND = 3;
    public const int ERROR_ACCESS_DENIED = 5;
    public const int ERROR_SHARING_VIOLATION = 32;
    public const int ERROR_IO_PENDING = 997;
    public const int ERROR_OPERATION_ABORTED = 995;

    [LibraryImport(Lib, EntryPoint = "CreateFileW", StringMarshalling = StringMarshalling.Utf16, SetLastError = true)]
    public static partial nint CreateFile(string fileName, uint desiredAccess, uint shareMode, nint securityAttributes, uint creationDisposition, uint flagsAndAttributes, nint templateFile);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int GetCommState(nint file, Dcb* dcb);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int SetCommState(nint file, Dcb* dcb);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int SetCommTimeouts(nint file, CommTimeouts* timeouts);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ReadFile(nint file, byte* buffer, uint toRead, uint* read, NativeOverlapped* overlapped);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int WriteFile(nint file, byte* buffer, uint toWrite, uint* written, NativeOverlapped* overlapped);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int GetOverlappedResult(nint file, NativeOverlapped* overlapped, uint* transferred, int wait);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int CancelIoEx(nint file, NativeOverlapped* overlapped);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int PurgeComm(nint file, uint flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int EscapeCommFunction(nint file, uint function);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int FlushFileBuffers(nint file);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int CloseHandle(nint handle);

    public static int LastError => Marshal.GetLastPInvokeError();

    public static string Describe(int error) => Marshal.GetPInvokeErrorMessage(error);
}
