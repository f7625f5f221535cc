using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Kezekshi.Edge.Devices.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Devices.Transport.Serial;

/// <summary>
/// A serial port on Windows (<c>COM3</c>, <c>COM12</c>) through the Win32 comm API: CreateFileW,
/// Get/SetCommState with a DCB, SetCommTimeouts, overlapped ReadFile/WriteFile, PurgeComm and
/// EscapeCommFunction for RS-485 RTS toggling.
/// </summary>
/// <remarks>
/// <para><b>Untested:</b> this class compiles everywhere but has only been built on Linux; no test
/// in this repository runs it (CI has no Windows runner with a COM port). Only the DCB layout and
/// bitfield helpers are unit-tested. Verify on a Windows gate PC before relying on it.</para>
/// <para>Why overlapped I/O although a dedicated reader thread is used: on a handle opened without
/// FILE_FLAG_OVERLAPPED Windows serialises all I/O on it, so a WriteFile would wait behind the
/// reader's pending ReadFile (up to its timeout). With overlapped I/O the reader thread waits on
/// its read event or a stop event (the Win32 twin of poll + eventfd on Linux), and writes proceed
/// independently. COMMTIMEOUTS are ReadIntervalTimeout = ReadTotalTimeoutMultiplier = MAXDWORD with a
/// 1000 ms constant: a read returns as soon as any byte is there (learn.microsoft.com, COMMTIMEOUTS).</para>
/// <para>RS-485: <see cref="Rs485Mode.Kernel"/> maps to the driver's RTS_CONTROL_TOGGLE (few USB
/// drivers implement it); <see cref="Rs485Mode.RtsToggle"/> is SETRTS, write, FlushFileBuffers, CLRRTS.</para>
/// </remarks>
[SupportedOSPlatform("windows")]
public sealed class WindowsSerialPort : ISerialPort
{
    private const int ReadBufferSize = 4096;

    private readonly nint _handle;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ByteInbox _inbox = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly object _readLock = new();
    private readonly ManualResetEvent _stopEvent = new(false);
    private readonly ManualResetEvent _readEvent = new(false);
    private readonly ManualResetEvent _writeEvent = new(false);
    private readonly unsafe NativeOverlapped* _readOverlapped;
    private readonly unsafe NativeOverlapped* _writeOverlapped;
    private readonly unsafe byte* _readBuffer;
    private unsafe byte* _writeBuffer;
    private int _writeBufferSize;
    private readonly Thread _reader;
    private readonly TaskCompletionSource _readerStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _broken;
    private volatile bool _stopping;
    private int _disposed;

    private unsafe WindowsSerialPort(nint handle, SerialPortSettings settings, Rs485Mode effective, ILogger logger, TimeProvider time)
    {
        _handle = handle;
        Settings = settings;
        EffectiveRs485Mode = effective;
        _logger = logger;
        _time = time;
        _readOverlapped = (NativeOverlapped*)NativeMemory.AllocZeroed((nuint)sizeof(NativeOverlapped));
        _writeOverlapped = (NativeOverlapped*)NativeMemory.AllocZeroed((nuint)sizeof(NativeOverlapped));
        _readOverlapped->EventHandle = _readEvent.SafeWaitHandle.DangerousGetHandle();
        _writeOverlapped->EventHandle = _writeEvent.SafeWaitHandle.DangerousGetHandle();
        _readBuffer = (byte*)NativeMemory.Alloc(ReadBufferSize);
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "serial reader " + settings.PortName };
        _reader.Start();
    }

    /// <summary>Opens and configures the port; see <see cref="SerialPortFactory.Open"/> for the exceptions.</summary>
    public static WindowsSerialPort Open(SerialPortSettings settings, ILogger? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        logger ??= NullLogger.Instance;
        string port = settings.PortName;
        // COM10 and above only open with the device namespace prefix; it is harmless for COM1–9.
        string path = port.StartsWith(@"\\.\", StringComparison.Ordinal) ? port : @"\\.\" + port;

        nint handle = Kernel32.CreateFile(path, Kernel32.GENERIC_READ | Kernel32.GENERIC_WRITE, 0, 0,
            Kernel32.OPEN_EXISTING, Kernel32.FILE_FLAG_OVERLAPPED, 0);
        if (handle == Kernel32.InvalidHandleValue) throw OpenError(port, Kernel32.LastError);
        try
        {
            var effective = Configure(handle, settings, logger);
            _ = Kernel32.PurgeComm(handle, Kernel32.PURGE_RXCLEAR | Kernel32.PURGE_TXCLEAR | Kernel32.PURGE_RXABORT | Kernel32.PURGE_TXABORT);
            var opened = new WindowsSerialPort(handle, settings, effective, logger, time ?? TimeProvider.System);
            DeviceLog.SerialPortOpened(logger, port, settings.FrameDescription, effective.ToString());
            return opened;
        }
        catch
        {
            _ = Kernel32.CloseHandle(handle);
            throw;
        }
    }

    public SerialPortSettings Settings { get; }
    public Rs485Mode EffectiveRs485Mode { get; }
    public string Name => Settings.PortName;
    public int BaudRate => Settings.BaudRate;
    public bool IsBroken => Volatile.Read(ref _broken) != 0 || Volatile.Read(ref _disposed) != 0;

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _broken) != 0)
                throw new TransportException($"Serial port {Name} is broken after an earlier error (see the log): close it and open it again.", isTransient: true);
            bool toggle = EffectiveRs485Mode == Rs485Mode.RtsToggle;
            if (toggle && Kernel32.EscapeCommFunction(_handle, Kernel32.SETRTS) == 0) throw Broken(Kernel32.LastError, "raising RTS");
            try
            {
                if (toggle && Settings.RtsDelayBeforeSend > TimeSpan.Zero)
                    await Task.Delay(Settings.RtsDelayBeforeSend, _time, cancellationToken).ConfigureAwait(false);
                await WriteAllAsync(data, cancellationToken).ConfigureAwait(false);
                if (toggle)
                {
                    // FlushFileBuffers returns once the driver has sent everything; it blocks, so off the caller's thread.
                    await Task.Run(() =>
                    {
                        if (Kernel32.FlushFileBuffers(_handle) == 0) throw Broken(Kernel32.LastError, "FlushFileBuffers");
                    }, CancellationToken.None).ConfigureAwait(false);
                    if (Settings.RtsDelayAfterSend > TimeSpan.Zero)
                        await Task.Delay(Settings.RtsDelayAfterSend, _time, CancellationToken.None).ConfigureAwait(false);
                }
            }
            finally
            {
                if (toggle) _ = Kernel32.EscapeCommFunction(_handle, Kernel32.CLRRTS);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public ValueTask<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _inbox.ReadAsync(buffer, timeout, _time, cancellationToken);
    }

    public void DiscardInput()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        lock (_readLock)
        {
            _ = Kernel32.PurgeComm(_handle, Kernel32.PURGE_RXCLEAR);
            _inbox.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stopping = true;
        _stopEvent.Set();
        await _readerStopped.Task.ConfigureAwait(false);
        CancelWrite(); // a write stuck on flow control completes as aborted
        await _writeLock.WaitAsync().ConfigureAwait(false);
        if (EffectiveRs485Mode == Rs485Mode.RtsToggle) _ = Kernel32.EscapeCommFunction(_handle, Kernel32.CLRRTS);
        _ = Kernel32.CloseHandle(_handle);
        FreeNativeMemory();
        _stopEvent.Dispose();
        _readEvent.Dispose();
        _writeEvent.Dispose();
        _writeLock.Dispose();
        _inbox.Fail(new ObjectDisposedException(Name));
        DeviceLog.SerialPortClosed(_logger, Name);
    }

    private async ValueTask WriteAllAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        CopyToWriteBuffer(data.Span);
        int offset = 0;
        while (offset < data.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (BeginWrite(offset, data.Length - offset))
            {
                using (cancellationToken.UnsafeRegister(static state => ((WindowsSerialPort)state!).CancelWrite(), this))
                {
                    await WaitAsync(_writeEvent).ConfigureAwait(false);
                }
            }
            offset += EndWrite(cancellationToken);
        }
    }

    // The buffer is native memory: it must stay put until the overlapped write completes, even after a cancel.
    private unsafe void CopyToWriteBuffer(ReadOnlySpan<byte> data)
    {
        if (_writeBufferSize < data.Length)
        {
            NativeMemory.Free(_writeBuffer);
            _writeBuffer = (byte*)NativeMemory.Alloc((nuint)data.Length);
            _writeBufferSize = data.Length;
        }
        data.CopyTo(new Span<byte>(_writeBuffer, data.Length));
    }

    /// <summary>Starts an overlapped write; true when it is pending (wait for the event), false when it completed at once.</summary>
    private unsafe bool BeginWrite(int offset, int count)
    {
        _writeEvent.Reset();
        *_writeOverlapped = new NativeOverlapped { EventHandle = _writeEvent.SafeWaitHandle.DangerousGetHandle() };
        if (Kernel32.WriteFile(_handle, _writeBuffer + offset, (uint)count, null, _writeOverlapped) != 0) return false;
        int error = Kernel32.LastError;
        if (error != Kernel32.ERROR_IO_PENDING) throw MarkBroken(Broken(error, "WriteFile"));
        return true;
    }

    private unsafe int EndWrite(CancellationToken cancellationToken)
    {
        uint written;
        if (Kernel32.GetOverlappedResult(_handle, _writeOverlapped, &written, 0) != 0) return (int)written;
        int error = Kernel32.LastError;
        if (error == Kernel32.ERROR_OPERATION_ABORTED)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new ObjectDisposedException(Name);
        }
        throw MarkBroken(Broken(error, "WriteFile"));
    }

    private unsafe void CancelWrite() => _ = Kernel32.CancelIoEx(_handle, _writeOverlapped);

    private unsafe void FreeNativeMemory()
    {
        NativeMemory.Free(_readOverlapped);
        NativeMemory.Free(_writeOverlapped);
        NativeMemory.Free(_readBuffer);
        NativeMemory.Free(_writeBuffer);
    }

    private static Task WaitAsync(WaitHandle handle)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RegisteredWaitHandle? registration = null;
        registration = ThreadPool.RegisterWaitForSingleObject(handle, (_, _) =>
        {
            done.TrySetResult();
        }, null, Timeout.Infinite, executeOnlyOnce: true);
        return done.Task.ContinueWith(_ => registration.Unregister(null), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private unsafe void ReadLoop()
    {
        WaitHandle[] waits = [_readEvent, _stopEvent];
        try
        {
            while (!_stopping && Volatile.Read(ref _broken) == 0)
            {
                _readEvent.Reset();
                *_readOverlapped = new NativeOverlapped { EventHandle = _readEvent.SafeWaitHandle.DangerousGetHandle() };
                if (Kernel32.ReadFile(_handle, _readBuffer, ReadBufferSize, null, _readOverlapped) == 0)
                {
                    int error = Kernel32.LastError;
                    if (error != Kernel32.ERROR_IO_PENDING) { MarkBroken(Broken(error, "ReadFile")); break; }
                    if (WaitHandle.WaitAny(waits) == 1)
                    {
                        uint ignored;
                        _ = Kernel32.CancelIoEx(_handle, _readOverlapped);
                        _ = Kernel32.GetOverlappedResult(_handle, _readOverlapped, &ignored, 1); // buffer is ours again
                        break;
                    }
                }
                lock (_readLock)
                {
                    uint read;
                    if (Kernel32.GetOverlappedResult(_handle, _readOverlapped, &read, 0) == 0)
                    {
                        int error = Kernel32.LastError;
                        if (error == Kernel32.ERROR_OPERATION_ABORTED && _stopping) break;
                        MarkBroken(Broken(error, "ReadFile"));
                        break;
                    }
                    if (read > 0) _inbox.Write(new ReadOnlySpan<byte>(_readBuffer, (int)read));
                    // read == 0: the 1000 ms read timeout passed with no byte; go round again.
                }
            }
        }
        catch (Exception ex)
        {
            MarkBroken(new TransportException($"Serial port {Name}: reader thread failed: {ex.Message}", ex));
        }
        finally
        {
            _readerStopped.TrySetResult();
        }
    }

    private TransportException MarkBroken(TransportException failure)
    {
        if (Interlocked.Exchange(ref _broken, 1) != 0) return failure;
        _inbox.Fail(failure);
        DeviceLog.SerialPortBroken(_logger, Name, failure.Message);
        return failure;
    }

    private TransportException Broken(int error, string operation) => new(
        $"Serial port {Name} stopped working ({operation}: {Kernel32.Describe(error)}, error {error}): the USB adapter was probably unplugged. Check it in Device Manager → Ports (COM & LPT); the port must be reopened.",
        isTransient: true, error);

    private static TransportException OpenError(string port, int error) => error switch
    {
        Kernel32.ERROR_FILE_NOT_FOUND or Kernel32.ERROR_PATH_NOT_FOUND => new TransportException(
            $"Serial port {port} does not exist: is the USB-RS485 adapter plugged in? Check Device Manager → Ports (COM & LPT) for its COM number.",
            isTransient: true, error),
        Kernel32.ERROR_ACCESS_DENIED or Kernel32.ERROR_SHARING_VIOLATION => new TransportException(
            $"Serial port {port} is in use by another program (Windows opens COM ports exclusively): close it (a terminal, the vendor's tool, a second agent) and restart the service.",
            isTransient: true, error),
        _ => new TransportException(
            $"Serial port {port} could not be opened: {Kernel32.Describe(error)} (error {error}). Check the port name in the hardware profile and Device Manager.",
            isTransient: false, error),
    };

    private static unsafe Rs485Mode Configure(nint handle, SerialPortSettings settings, ILogger logger)
    {
        string port = settings.PortName;
        Dcb dcb = default;
        dcb.DCBlength = (uint)sizeof(Dcb);
        if (Kernel32.GetCommState(handle, &dcb) == 0) throw ConfigureError(port, "GetCommState", Kernel32.LastError);
        DcbFlags.Apply(ref dcb, settings, DcbFlags.RTS_CONTROL_ENABLE);

        var effective = Rs485Mode.Off;
        if (settings.Rs485Mode is Rs485Mode.Kernel or Rs485Mode.Auto)
        {
            var toggle = dcb;
            toggle.Flags = DcbFlags.Set(toggle.Flags, DcbFlags.RtsControl, DcbFlags.RTS_CONTROL_TOGGLE, 2);
            Dcb readBack = default;
            readBack.DCBlength = (uint)sizeof(Dcb);
            if (Kernel32.SetCommState(handle, &toggle) != 0 && Kernel32.GetCommState(handle, &readBack) != 0
                && DcbFlags.Get(readBack.Flags, DcbFlags.RtsControl, 2) == DcbFlags.RTS_CONTROL_TOGGLE)
            {
                effective = Rs485Mode.Kernel;
                dcb = toggle;
            }
            else if (settings.Rs485Mode == Rs485Mode.Kernel)
            {
                throw new TransportException(
                    $"Serial port {port}: Rs485Mode Kernel was asked for, but the driver does not support RTS_CONTROL_TOGGLE. Use Rs485Mode Auto or RtsToggle, or Off if the adapter switches direction by itself (most USB-RS485 dongles do).",
                    isTransient: false);
            }
        }
        if (effective == Rs485Mode.Off && settings.Rs485Mode is Rs485Mode.RtsToggle or Rs485Mode.Auto)
        {
            dcb.Flags = DcbFlags.Set(dcb.Flags, DcbFlags.RtsControl, DcbFlags.RTS_CONTROL_DISABLE, 2);
            effective = Rs485Mode.RtsToggle;
            if (settings.Rs485Mode == Rs485Mode.Auto)
                DeviceLog.Rs485Fallback(logger, port, "no RTS_CONTROL_TOGGLE", nameof(Rs485Mode.RtsToggle));
        }
        if (Kernel32.SetCommState(handle, &dcb) == 0) throw ConfigureError(port, "SetCommState", Kernel32.LastError);
        if (effective == Rs485Mode.RtsToggle && Kernel32.EscapeCommFunction(handle, Kernel32.CLRRTS) == 0)
        {
            int error = Kernel32.LastError;
            if (settings.Rs485Mode == Rs485Mode.RtsToggle)
                throw new TransportException($"Serial port {port}: Rs485Mode RtsToggle was asked for, but RTS cannot be driven ({Kernel32.Describe(error)}). Use Auto, or Off if the adapter switches direction by itself.", isTransient: false, error);
            effective = Rs485Mode.Off;
        }

        var timeouts = new CommTimeouts
        {
            ReadIntervalTimeout = Kernel32.MAXDWORD,
            ReadTotalTimeoutMultiplier = Kernel32.MAXDWORD,
            ReadTotalTimeoutConstant = 1000,
            WriteTotalTimeoutMultiplier = 0,
            WriteTotalTimeoutConstant = 0,
        };
        if (Kernel32.SetCommTimeouts(handle, &timeouts) == 0) throw ConfigureError(port, "SetCommTimeouts", Kernel32.LastError);
        return effective;
    }

    private static TransportException ConfigureError(string port, string operation, int error) => new(
        $"Serial port {port}: {operation} failed: {Kernel32.Describe(error)} (error {error}). The driver rejected the line settings; check baud rate, data bits and parity against the device's manual.",
        isTransient: false, error);
}
