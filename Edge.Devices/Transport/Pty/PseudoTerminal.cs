using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using Kezekshi.Edge.Devices.Transport.Serial;

namespace Kezekshi.Edge.Devices.Transport.Pty;

/// <summary>
/// A Linux pseudo-terminal pair standing in for a serial cable: the code under test opens
/// <see cref="SlavePath"/> as a serial port by name, and a device simulator talks through
/// <see cref="Master"/>. Used by integration tests and by the <c>demo</c> simulators.
/// </summary>
/// <remarks>
/// <para>A pty runs the real serial stack (termios, TIOCEXCL, poll, hang-up) that a loopback
/// cannot, but it has no line speed, no RTS and no RS-485 mode: a port on it ends up with
/// <see cref="Rs485Mode.Off"/>.</para>
/// <para>We keep one slave descriptor open for the pair's whole life (set raw with cfmakeraw, so
/// nothing is echoed or translated): otherwise, while the port under test is closed and reopened,
/// the master would see end-of-file/EIO as if the cable had been pulled.</para>
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed class PseudoTerminal : IAsyncDisposable
{
    private readonly int _slaveFd;
    private int _disposed;

    private PseudoTerminal(int slaveFd, string slavePath, PtyMasterTransport master)
    {
        _slaveFd = slaveFd;
        SlavePath = slavePath;
        Master = master;
    }

    /// <summary>
    /// Creates a pseudo-terminal pair (openpty(3)).
    /// </summary>
    /// <param name="nominalBaudRate">
    /// The speed the simulated device pretends to run at; used only for <see cref="WireTime"/>
    /// computations by the master side (ptys have no line speed).
    /// </param>
    /// <param name="time">Clock for read timeouts on the master side.</param>
    public static unsafe PseudoTerminal Open(int nominalBaudRate = 9600, TimeProvider? time = null)
    {
        int master, slave;
        if (Libc.openpty(&master, &slave) != 0)
        {
            int errno = Libc.LastErrno;
            throw new TransportException($"Could not create a pseudo-terminal: {Libc.Describe(errno)} (errno {errno}). Check that /dev/ptmx exists and devpts is mounted on /dev/pts.", isTransient: false, errno);
        }
        try
        {
            // openpty gives descriptors without O_CLOEXEC; child processes must not inherit them.
            _ = Libc.fcntl(master, Libc.F_SETFD, Libc.FD_CLOEXEC);
            _ = Libc.fcntl(slave, Libc.F_SETFD, Libc.FD_CLOEXEC);
            int flags = Libc.fcntl(master, Libc.F_GETFL, 0);
            if (flags < 0 || Libc.fcntl(master, Libc.F_SETFL, flags | Libc.O_NONBLOCK) != 0)
                throw Failure("fcntl(O_NONBLOCK) on the master");

            Termios raw;
            if (Libc.tcgetattr(slave, &raw) != 0) throw Failure("tcgetattr on the slave");
            Libc.cfmakeraw(&raw);
            if (Libc.tcsetattr(slave, Libc.TCSANOW, &raw) != 0) throw Failure("tcsetattr on the slave");

            byte* name = stackalloc byte[128];
            int rc = Libc.ptsname_r(master, name, 128);
            if (rc != 0) throw Failure("ptsname_r");
            string slavePath = Marshal.PtrToStringUTF8((nint)name) ?? throw Failure("ptsname_r");

            var masterTransport = new PtyMasterTransport(master, slavePath, nominalBaudRate, time ?? TimeProvider.System);
            return new PseudoTerminal(slave, slavePath, masterTransport);
        }
        catch
        {
            _ = Libc.close(master);
            _ = Libc.close(slave);
            throw;
        }
    }

    /// <summary>The slave device, e.g. <c>/dev/pts/7</c>: open it as a serial port (<see cref="SerialPortSettings.PortName"/>).</summary>
    public string SlavePath { get; }

    /// <summary>The slave descriptor this pair keeps open; tests read the port's termios through it.</summary>
    internal int SlaveFd => _slaveFd;

    /// <summary>The device end of the cable, for a simulator.</summary>
    public PtyMasterTransport Master { get; }

    /// <summary>
    /// Simulates pulling the USB adapter: closes the master, so the serial port on
    /// <see cref="SlavePath"/> sees a hang-up and becomes <see cref="IByteTransport.IsBroken"/>.
    /// A pty cannot be plugged back in; create a new one.
    /// </summary>
    public ValueTask UnplugAsync() => Master.DisposeAsync();

    /// <summary>
    /// Clears the slave's exclusive-use flag (TIOCNXCL), as the kernel does when the last descriptor of a real
    /// serial port closes. Because this pair keeps a slave descriptor open, a process killed while holding the
    /// port exclusively (TIOCEXCL) would otherwise leave it "in use" for good; tests that kill the agent call
    /// this before starting it again.
    /// </summary>
    public unsafe void ReleaseExclusive()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Libc.ioctl(_slaveFd, Libc.TIOCNXCL, null) != 0) throw Failure("ioctl(TIOCNXCL) on the slave");
    }

    /// <summary>Closes the master (if still open) and the slave descriptor kept by this pair.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await Master.DisposeAsync().ConfigureAwait(false);
        _ = Libc.close(_slaveFd);
    }

    /// <inheritdoc/>
    public override string ToString() => new StringBuilder("pty ").Append(SlavePath).ToString();

    private static TransportException Failure(string operation)
    {
        int errno = Libc.LastErrno;
        return new TransportException($"Could not set up a pseudo-terminal: {operation} failed: {Libc.Describe(errno)} (errno {errno}).", isTransient: false, errno);
    }
}
