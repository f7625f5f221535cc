using System.Runtime.Versioning;
using Kezekshi.Edge.Devices.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Devices.Transport.Serial;

/// <summary>
/// A serial port on Linux (<c>/dev/ttyUSB*</c>, <c>/dev/ttyS*</c>, <c>/dev/serial/by-id/*</c>, or a
/// pseudo-terminal slave) driven through termios by P/Invoke to libc, with RS-485 direction control.
/// Open it with <see cref="Open"/> or <see cref="SerialPortFactory.Open"/>.
/// </summary>
/// <remarks>
/// <para>Why not System.IO.Ports: it is not available to us, and on Linux it polls and offers no
/// RS-485 control. Here the port is opened non-blocking and exclusive (TIOCEXCL, so two agents
/// cannot both drive one bus), set raw (cfmakeraw, VMIN = VTIME = 0), and served by one
/// <c>poll()</c> thread that feeds a receive queue; <see cref="ReadAsync"/> only awaits that queue.</para>
/// <para>RS-485 (see README.md): <see cref="Rs485Mode.Kernel"/> uses TIOCSRS485
/// (Documentation/driver-api/serial/serial-rs485.rst), <see cref="Rs485Mode.RtsToggle"/> raises RTS
/// (TIOCMBIS), writes, waits for tcdrain and lowers RTS (TIOCMBIC).</para>
/// <para>Layout assumptions: glibc <c>struct termios</c> of x86_64 and arm64 (60 bytes).</para>
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed class LinuxSerialPort : ISerialPort
{
    private readonly int _fd;
    private readonly FdPump _pump;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly FdEndpoint _endpoint;

    private LinuxSerialPort(int fd, SerialPortSettings settings, Rs485Mode effective, ILogger logger, TimeProvider time)
    {
        _fd = fd;
        Settings = settings;
        EffectiveRs485Mode = effective;
        _logger = logger;
        _time = time;
        _pump = new FdPump(fd, settings.PortName,
            (errno, operation) => LinuxSerialErrors.Broken(settings.PortName, errno, operation),
            failure => DeviceLog.SerialPortBroken(_logger, Name, failure.Message));
        _endpoint = new FdEndpoint(fd, _pump, time, this);
        _pump.Start();
    }

    /// <summary>
    /// Opens and configures the port. Throws <see cref="ArgumentException"/> for invalid settings and
    /// <see cref="TransportException"/> (naming the port and what to check) when the port cannot be used.
    /// </summary>
    public static unsafe LinuxSerialPort Open(SerialPortSettings settings, ILogger? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        logger ??= NullLogger.Instance;
        string port = settings.PortName;

        int fd = Libc.open(port, Libc.O_RDWR | Libc.O_NOCTTY | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0) throw LinuxSerialErrors.Open(port, Libc.LastErrno);
        bool exclusive = false;
        try
        {
            TakeExclusive(fd, port);
            exclusive = true;
            ApplyLineSettings(fd, settings);
            var effective = ConfigureRs485(fd, settings, logger);
            _ = Libc.tcflush(fd, Libc.TCIOFLUSH); // whatever arrived before we were ready is stale
            var opened = new LinuxSerialPort(fd, settings, effective, logger, time ?? TimeProvider.System);
            DeviceLog.SerialPortOpened(logger, port, settings.FrameDescription, effective.ToString());
            return opened;
        }
        catch
        {
            // Only our own claim is released: TIOCNXCL acts on the tty, so releasing after "in use" would take the
            // port away from the program that holds it, and our next attempt would then share the bus with it.
            if (exclusive) _ = Libc.ioctl(fd, Libc.TIOCNXCL, null);
            _ = Libc.close(fd);
            throw;
        }
    }

    public SerialPortSettings Settings { get; }
    public Rs485Mode EffectiveRs485Mode { get; }
    public string Name => Settings.PortName;
    public int BaudRate => Settings.BaudRate;
    public bool IsBroken => _endpoint.IsBroken;

    /// <summary>Bytes received and not yet read (for tests that must know data arrived without reading it).</summary>
    internal int BytesAvailable => _endpoint.BytesAvailable;

    /// <summary>
    /// Writes all bytes. With <see cref="Rs485Mode.RtsToggle"/> it completes when the last byte left
    /// the UART and RTS is low again; otherwise when the kernel has queued the bytes.
    /// </summary>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        _endpoint.WriteAsync(data, cancellationToken, EffectiveRs485Mode == Rs485Mode.RtsToggle ? WriteWithRtsToggleAsync : null);

    public ValueTask<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken) =>
        _endpoint.ReadAsync(buffer, timeout, cancellationToken);

    /// <summary>Drops bytes received and not yet read, in our queue and in the kernel's (tcflush TCIFLUSH).</summary>
    public void DiscardInput() => _endpoint.DiscardInput();

    /// <summary>Stops the reader thread, releases exclusivity (TIOCNXCL) and closes the port.</summary>
    public async ValueTask DisposeAsync()
    {
        bool closed = await _endpoint.CloseAsync(Name, fd =>
        {
            unsafe
            {
                if (EffectiveRs485Mode == Rs485Mode.RtsToggle) _ = SetRts(fd, raised: false);
                // Our pseudo-terminals keep a slave open, so the tty outlives us; clear the flag or the next open is refused.
                _ = Libc.ioctl(fd, Libc.TIOCNXCL, null);
            }
        }).ConfigureAwait(false);
        if (closed) DeviceLog.SerialPortClosed(_logger, Name);
    }

    private async ValueTask WriteWithRtsToggleAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (!SetRts(_fd, raised: true)) throw Broken(Libc.LastErrno, "raising RTS");
        try
        {
            if (Settings.RtsDelayBeforeSend > TimeSpan.Zero)
                await Task.Delay(Settings.RtsDelayBeforeSend, _time, cancellationToken).ConfigureAwait(false);
            await _pump.WriteAllAsync(data, cancellationToken).ConfigureAwait(false);
            // tcdrain has no non-blocking form; it holds a pool thread for the frame's wire time only.
            await Task.Run(Drain, CancellationToken.None).ConfigureAwait(false);
            if (Settings.RtsDelayAfterSend > TimeSpan.Zero)
                await Task.Delay(Settings.RtsDelayAfterSend, _time, CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            _ = Libc.tcflush(_fd, Libc.TCOFLUSH); // never leave half a frame to go out after RTS dropped
            throw;
        }
        finally
        {
            _ = SetRts(_fd, raised: false);
        }
    }

    private void Drain()
    {
        while (Libc.tcdrain(_fd) != 0)
        {
            int errno = Libc.LastErrno;
            if (errno != Libc.EINTR) throw Broken(errno, "tcdrain");
        }
    }

    private TransportException Broken(int errno, string operation) => LinuxSerialErrors.Broken(Name, errno, operation);

    private static unsafe void TakeExclusive(int fd, string port)
    {
        Termios probe;
        if (Libc.tcgetattr(fd, &probe) != 0)
            throw LinuxSerialErrors.Configure(port, "tcgetattr", Libc.LastErrno);

        // TIOCEXCL does not stop root (CAP_SYS_ADMIN) from opening the port again, so ask first.
        int exclusive = 0;
        if (Libc.ioctl(fd, Libc.TIOCGEXCL, &exclusive) == 0 && exclusive != 0)
            throw LinuxSerialErrors.InUse(port);
        if (Libc.ioctl(fd, Libc.TIOCEXCL, null) != 0)
            throw LinuxSerialErrors.Configure(port, "ioctl(TIOCEXCL)", Libc.LastErrno);
    }

    private static unsafe void ApplyLineSettings(int fd, SerialPortSettings settings)
    {
        string port = settings.PortName;
        Termios t;
        if (Libc.tcgetattr(fd, &t) != 0) throw LinuxSerialErrors.Configure(port, "tcgetattr", Libc.LastErrno);
        if (!TrySetRawLine(ref t, settings))
            throw LinuxSerialErrors.Configure(port, $"setting {settings.BaudRate} baud", Libc.LastErrno);
        if (Libc.tcsetattr(fd, Libc.TCSANOW, &t) != 0)
            throw LinuxSerialErrors.Configure(port, "tcsetattr", Libc.LastErrno);

        // tcsetattr succeeds if any one change was applied (termios(3)); read back what the driver kept.
        // The pty driver always forces CS8 and clears PARENB (drivers/tty/pty.c, pty_set_termios):
        // a pty has no wire, so there is nothing to verify for those two.
        Termios applied;
        if (Libc.tcgetattr(fd, &applied) != 0) throw LinuxSerialErrors.Configure(port, "tcgetattr", Libc.LastErrno);
        uint verified = IsPseudoTerminal(fd) ? Libc.PARODD | Libc.CSTOPB : Libc.CSIZE | Libc.PARENB | Libc.PARODD | Libc.CSTOPB;
        int appliedBaud = TermiosSpeed.Decode(Libc.cfgetospeed(&applied));
        if ((applied.c_cflag & verified) != (t.c_cflag & verified) || appliedBaud != settings.BaudRate)
        {
            throw new TransportException(
                $"Serial port {port}: the driver did not accept {settings.FrameDescription} (it kept {appliedBaud} baud, cflag 0x{applied.c_cflag:X}). Pick settings this adapter supports (see its datasheet) and match them on the device.",
                isTransient: false);
        }
    }

    /// <summary>
    /// Turns <paramref name="t"/> into a raw line with the requested frame and speed: cfmakeraw,
    /// CS7/CS8, PARENB/PARODD, CSTOPB, CLOCAL|CREAD, no hardware flow control, no input parity
    /// check (bytes pass as received and the frame's CRC judges them), VMIN = VTIME = 0.
    /// False (errno set) if glibc rejects the speed.
    /// </summary>
    internal static unsafe bool TrySetRawLine(ref Termios t, SerialPortSettings settings)
    {
        const uint InputParityCheck = 0x10; // INPCK
        fixed (Termios* p = &t)
        {
            Libc.cfmakeraw(p);
            p->c_iflag &= ~InputParityCheck;
            p->c_cflag &= ~(Libc.CSIZE | Libc.PARENB | Libc.PARODD | Libc.CSTOPB | Libc.CRTSCTS);
            p->c_cflag |= (settings.DataBits == 7 ? Libc.CS7 : Libc.CS8) | Libc.CREAD | Libc.CLOCAL;
            if (settings.Parity != Parity.None) p->c_cflag |= Libc.PARENB;
            if (settings.Parity == Parity.Odd) p->c_cflag |= Libc.PARODD;
            if (settings.StopBits == StopBits.Two) p->c_cflag |= Libc.CSTOPB;
            p->c_cc[Libc.VMIN] = 0;
            p->c_cc[Libc.VTIME] = 0;
            uint speed = TermiosSpeed.Encode(settings.BaudRate);
            return Libc.cfsetispeed(p, speed) == 0 && Libc.cfsetospeed(p, speed) == 0;
        }
    }

    /// <summary>True for a Unix98 pseudo-terminal slave (what /proc says the descriptor is: /dev/pts/N).</summary>
    private static bool IsPseudoTerminal(int fd)
    {
        try
        {
            string? target = new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
            return target is not null && target.StartsWith("/dev/pts/", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false; // no /proc: verify everything, as for real hardware
        }
    }

    private static unsafe Rs485Mode ConfigureRs485(int fd, SerialPortSettings settings, ILogger logger)
    {
        string port = settings.PortName;
        switch (settings.Rs485Mode)
        {
            case Rs485Mode.Off:
                return Rs485Mode.Off;
            case Rs485Mode.Kernel:
                if (TryKernelRs485(fd, settings, out int kernelErrno)) return Rs485Mode.Kernel;
                throw new TransportException(
                    $"Serial port {port}: Rs485Mode Kernel was asked for, but the driver has no kernel RS-485 mode (TIOCSRS485: {Libc.Describe(kernelErrno)}). Use Rs485Mode Auto or RtsToggle, or Off if the adapter switches direction by itself (most USB-RS485 dongles do).",
                    isTransient: false, kernelErrno);
            case Rs485Mode.RtsToggle:
                if (TryRtsControl(fd, out int rtsErrno)) return Rs485Mode.RtsToggle;
                throw new TransportException(
                    $"Serial port {port}: Rs485Mode RtsToggle was asked for, but the port has no RTS line we can drive (TIOCMGET/TIOCMBIC: {Libc.Describe(rtsErrno)}). Use Rs485Mode Auto, or Off if the adapter switches direction by itself.",
                    isTransient: false, rtsErrno);
            default: // Auto
                if (TryKernelRs485(fd, settings, out int autoKernelErrno)) return Rs485Mode.Kernel;
                if (TryRtsControl(fd, out _))
                {
                    DeviceLog.Rs485Fallback(logger, port, Libc.Describe(autoKernelErrno), nameof(Rs485Mode.RtsToggle));
                    return Rs485Mode.RtsToggle;
                }
                DeviceLog.Rs485Fallback(logger, port, Libc.Describe(autoKernelErrno) + "; no RTS line either", "full duplex (Off)");
                return Rs485Mode.Off;
        }
    }

    private static unsafe bool TryKernelRs485(int fd, SerialPortSettings settings, out int errno)
    {
        var config = new SerialRs485
        {
            flags = Libc.SER_RS485_ENABLED | Libc.SER_RS485_RTS_ON_SEND,
            delay_rts_before_send = (uint)Math.Ceiling(settings.RtsDelayBeforeSend.TotalMilliseconds),
            delay_rts_after_send = (uint)Math.Ceiling(settings.RtsDelayAfterSend.TotalMilliseconds),
        };
        if (Libc.ioctl(fd, Libc.TIOCSRS485, &config) != 0)
        {
            errno = Libc.LastErrno;
            return false;
        }
        // Some drivers accept the call but clear flags they cannot do.
        SerialRs485 applied;
        if (Libc.ioctl(fd, Libc.TIOCGRS485, &applied) == 0 && (applied.flags & Libc.SER_RS485_ENABLED) == 0)
        {
            errno = Libc.EINVAL;
            return false;
        }
        errno = 0;
        return true;
    }

    private static unsafe bool TryRtsControl(int fd, out int errno)
    {
        int bits;
        if (Libc.ioctl(fd, Libc.TIOCMGET, &bits) != 0 || !SetRts(fd, raised: false))
        {
            errno = Libc.LastErrno;
            return false;
        }
        errno = 0;
        return true;
    }

    private static unsafe bool SetRts(int fd, bool raised)
    {
        int rts = Libc.TIOCM_RTS;
        return Libc.ioctl(fd, raised ? Libc.TIOCMBIS : Libc.TIOCMBIC, &rts) == 0;
    }
}
