using System.Runtime.Versioning;
using Kezekshi.Edge.Devices.Transport;
using Kezekshi.Edge.Devices.Transport.Pty;
using Kezekshi.Edge.Devices.Transport.Serial;

namespace Kezekshi.Edge.Devices.Tests.Transport.Serial;

/// <summary>
/// The Linux serial port against real pseudo-terminals: the port under test opens the slave by
/// name exactly as it would /dev/ttyUSB0, and the test plays the device on the master.
/// </summary>
[Category("Integration")]
[SupportedOSPlatform("linux")]
public class LinuxSerialPortTests
{
    /// <summary>Generous bound for "the bytes should have arrived by now"; never asserted as a duration.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private PseudoTerminal _pty = null!;

    [SetUp]
    public void SetUp()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("Pseudo-terminals and termios are Linux-only.");
        _pty = PseudoTerminal.Open();
    }

    [TearDown]
    public async Task TearDown()
    {
        if (_pty is not null) await _pty.DisposeAsync();
    }

    private LinuxSerialPort OpenPort(int baud = 9600, int dataBits = 8, Parity parity = Parity.None,
        StopBits stopBits = StopBits.One, Rs485Mode rs485 = Rs485Mode.Off) =>
        LinuxSerialPort.Open(new SerialPortSettings(_pty.SlavePath, baud, dataBits, parity, stopBits, rs485));

    private static async Task<byte[]> ReadExactlyAsync(IByteTransport transport, int count)
    {
        var result = new byte[count];
        int have = 0;
        while (have < count)
        {
            int n = await transport.ReadAsync(result.AsMemory(have), Patience, CancellationToken.None);
            if (n == 0) Assert.Fail($"{transport.Name}: only {have} of {count} bytes arrived within {Patience.TotalSeconds} s.");
            have += n;
        }
        return result;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var giveUp = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > giveUp) Assert.Fail($"Gave up waiting: {what}.");
            await Task.Delay(5);
        }
    }

    [Test]
    public async Task Bytes_written_by_the_device_arrive_at_the_port()
    {
        await using var port = OpenPort();
        byte[] frame = [0x53, 0x00, 0x08, 0x00, 0x04, 0x60, 0x11, 0x13];

        await _pty.Master.WriteAsync(frame, CancellationToken.None);

        Assert.That(await ReadExactlyAsync(port, frame.Length), Is.EqualTo(frame));
    }

    [Test]
    public async Task Bytes_written_by_the_port_arrive_at_the_device()
    {
        await using var port = OpenPort();
        byte[] frame = [0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD, 0x0A, 0x0D];

        await port.WriteAsync(frame, CancellationToken.None);

        Assert.That(await ReadExactlyAsync(_pty.Master, frame.Length), Is.EqualTo(frame));
    }

    [Test]
    public async Task Sixty_four_KiB_pass_both_ways_at_once_intact()
    {
        await using var port = OpenPort(baud: 921600);
        var toDevice = new byte[64 * 1024];
        var toPort = new byte[64 * 1024];
        new Random(485).NextBytes(toDevice);
        new Random(232).NextBytes(toPort);

        // Both directions at once: each side's writes outrun the pty's few-KiB buffer and must wait for POLLOUT.
        var deviceReceives = ReadExactlyAsync(_pty.Master, toDevice.Length);
        var portReceives = ReadExactlyAsync(port, toPort.Length);
        await Task.WhenAll(
            port.WriteAsync(toDevice, CancellationToken.None).AsTask(),
            _pty.Master.WriteAsync(toPort, CancellationToken.None).AsTask());

        Assert.That(await deviceReceives, Is.EqualTo(toDevice));
        Assert.That(await portReceives, Is.EqualTo(toPort));
    }

    [Test]
    public async Task Read_returns_zero_when_nothing_arrives_within_the_timeout()
    {
        await using var port = OpenPort();
        var buffer = new byte[16];

        int n = await port.ReadAsync(buffer, TimeSpan.FromMilliseconds(50), CancellationToken.None);

        Assert.That(n, Is.Zero);
        Assert.That(port.IsBroken, Is.False);
    }

    [Test]
    public async Task Read_throws_OperationCanceledException_when_cancelled()
    {
        await using var port = OpenPort();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        Assert.CatchAsync<OperationCanceledException>(async () =>
            await port.ReadAsync(new byte[16], TimeSpan.FromMinutes(5), cancel.Token));
        Assert.That(port.IsBroken, Is.False);
    }

    [Test]
    public void The_termios_built_for_7O2_asks_for_CS7_PARENB_PARODD_CSTOPB_on_a_raw_line()
    {
        var t = new Termios { c_lflag = Libc.ICANON | Libc.ECHO | Libc.ISIG, c_iflag = Libc.IXON | Libc.ICRNL, c_oflag = Libc.OPOST, c_cflag = Libc.CS8 | Libc.CRTSCTS };

        bool ok = LinuxSerialPort.TrySetRawLine(ref t, new SerialPortSettings("/dev/ttyS0", 19200, 7, Parity.Odd, StopBits.Two));

        Assert.That(ok, Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(TermiosSpeed.Decode(GetOutputSpeed(t)), Is.EqualTo(19200), "output speed");
            Assert.That(TermiosSpeed.Decode(GetInputSpeed(t)), Is.EqualTo(19200), "input speed");
            Assert.That(t.c_cflag & Libc.CSIZE, Is.EqualTo(Libc.CS7), "CS7");
            Assert.That(t.c_cflag & (Libc.PARENB | Libc.PARODD | Libc.CSTOPB), Is.EqualTo(Libc.PARENB | Libc.PARODD | Libc.CSTOPB), "PARENB|PARODD|CSTOPB");
            Assert.That(t.c_cflag & (Libc.CLOCAL | Libc.CREAD), Is.EqualTo(Libc.CLOCAL | Libc.CREAD), "CLOCAL|CREAD");
            Assert.That(t.c_cflag & Libc.CRTSCTS, Is.Zero, "no hardware flow control");
            AssertRaw(t);
        });
    }

    [Test]
    public async Task Line_settings_19200_7O2_reach_the_device_as_far_as_a_pty_keeps_them()
    {
        await using var port = OpenPort(baud: 19200, dataBits: 7, parity: Parity.Odd, stopBits: StopBits.Two);

        var t = ReadSlaveTermios();

        // The pty driver forces CS8 and clears PARENB (drivers/tty/pty.c, pty_set_termios): a pty
        // has no wire. Those two are covered by the test above; everything else must be on the device.
        Assert.Multiple(() =>
        {
            Assert.That(TermiosSpeed.Decode(GetOutputSpeed(t)), Is.EqualTo(19200), "output speed");
            Assert.That(TermiosSpeed.Decode(GetInputSpeed(t)), Is.EqualTo(19200), "input speed");
            Assert.That(t.c_cflag & Libc.PARODD, Is.EqualTo(Libc.PARODD), "PARODD");
            Assert.That(t.c_cflag & Libc.CSTOPB, Is.EqualTo(Libc.CSTOPB), "CSTOPB");
            Assert.That(t.c_cflag & (Libc.CLOCAL | Libc.CREAD), Is.EqualTo(Libc.CLOCAL | Libc.CREAD), "CLOCAL|CREAD");
            AssertRaw(t);
        });
    }

    [Test]
    public async Task Line_settings_115200_8N1_are_applied_to_the_device_in_raw_mode()
    {
        await using var port = OpenPort(baud: 115200);

        var t = ReadSlaveTermios();

        Assert.Multiple(() =>
        {
            Assert.That(TermiosSpeed.Decode(GetOutputSpeed(t)), Is.EqualTo(115200), "output speed");
            Assert.That(t.c_cflag & Libc.CSIZE, Is.EqualTo(Libc.CS8), "CS8");
            Assert.That(t.c_cflag & (Libc.PARENB | Libc.PARODD | Libc.CSTOPB | Libc.CRTSCTS), Is.Zero, "no parity, one stop bit, no flow control");
            AssertRaw(t);
        });
    }

    private static void AssertRaw(Termios t)
    {
        Assert.That(t.c_lflag & (Libc.ICANON | Libc.ECHO | Libc.ISIG), Is.Zero, "no line editing, echo or signals");
        Assert.That(t.c_iflag & (Libc.IXON | Libc.ICRNL), Is.Zero, "no XON/XOFF, no CR translation");
        Assert.That(t.c_oflag & Libc.OPOST, Is.Zero, "no output processing");
        unsafe
        {
            Assert.That(t.c_cc[Libc.VMIN], Is.Zero, "VMIN");
            Assert.That(t.c_cc[Libc.VTIME], Is.Zero, "VTIME");
        }
    }

    private unsafe Termios ReadSlaveTermios()
    {
        Termios t;
        Assert.That(Libc.tcgetattr(_pty.SlaveFd, &t), Is.Zero, "tcgetattr on the slave");
        return t;
    }

    private static unsafe uint GetOutputSpeed(Termios t) => Libc.cfgetospeed(&t);

    private static unsafe uint GetInputSpeed(Termios t) => Libc.cfgetispeed(&t);

    [Test]
    public async Task A_second_open_of_the_same_port_fails_with_the_in_use_message()
    {
        await using var first = OpenPort();

        var error = Assert.Throws<TransportException>(() => OpenPort())!;

        Assert.That(error.Message, Does.Contain(_pty.SlavePath));
        Assert.That(error.Message, Does.Contain("in use by another program"));
        Assert.That(error.Message, Does.Contain($"fuser {_pty.SlavePath}"));
        Assert.That(error.Errno, Is.EqualTo(Libc.EBUSY));
        Assert.That(error.IsTransient, Is.True);
    }

    [Test]
    public async Task A_refused_second_open_leaves_the_port_to_the_program_that_holds_it()
    {
        await using var first = OpenPort();

        Assert.Throws<TransportException>(() => OpenPort());

        // A second agent retries: it must be refused again, not handed the bus because its first attempt
        // released the holder's exclusive claim on the way out.
        var again = Assert.Throws<TransportException>(() => OpenPort())!;
        Assert.That(again.Errno, Is.EqualTo(Libc.EBUSY));
    }

    [Test]
    public async Task The_port_can_be_reopened_after_it_is_closed_and_the_device_keeps_working()
    {
        var first = OpenPort();
        await first.DisposeAsync();

        await using var second = OpenPort();
        await _pty.Master.WriteAsync(new byte[] { 0x42 }, CancellationToken.None);

        Assert.That(await ReadExactlyAsync(second, 1), Is.EqualTo(new byte[] { 0x42 }));
        Assert.That(_pty.Master.IsBroken, Is.False);
    }

    [Test]
    public void A_path_that_does_not_exist_gives_the_does_not_exist_message()
    {
        var settings = new SerialPortSettings("/dev/serial/by-id/usb-NoSuchAdapter-if00-port0");

        var error = Assert.Throws<TransportException>(() => LinuxSerialPort.Open(settings))!;

        Assert.That(error.Message, Does.Contain("/dev/serial/by-id/usb-NoSuchAdapter-if00-port0 does not exist"));
        Assert.That(error.Message, Does.Contain("is the USB-RS485 adapter plugged in?"));
        Assert.That(error.Message, Does.Contain("ls /dev/serial/by-id/"));
        Assert.That(error.Errno, Is.EqualTo(Libc.ENOENT));
        Assert.That(error.IsTransient, Is.True);
    }

    [Test]
    public void A_file_that_is_not_a_terminal_gives_the_not_a_serial_port_message()
    {
        string path = Path.GetTempFileName();
        try
        {
            var error = Assert.Throws<TransportException>(() => LinuxSerialPort.Open(new SerialPortSettings(path)))!;

            Assert.That(error.Message, Does.Contain($"{path} is not a serial port"));
            Assert.That(error.Errno, Is.EqualTo(Libc.ENOTTY));
            Assert.That(error.IsTransient, Is.False);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task Unplugging_the_device_makes_reads_throw_TransportException_and_marks_the_port_broken()
    {
        await using var port = OpenPort();

        await _pty.UnplugAsync();

        var error = Assert.CatchAsync<TransportException>(async () =>
            await port.ReadAsync(new byte[16], Patience, CancellationToken.None))!;
        Assert.That(error.Message, Does.Contain(_pty.SlavePath));
        Assert.That(error.Message, Does.Contain("disconnected"));
        Assert.That(error.IsTransient, Is.True);
        Assert.That(port.IsBroken, Is.True);
        Assert.CatchAsync<DeviceException>(async () => await port.WriteAsync(new byte[] { 1 }, CancellationToken.None));
    }

    [Test]
    public async Task Bytes_that_arrived_before_the_hang_up_can_still_be_read()
    {
        await using var port = OpenPort();
        await _pty.Master.WriteAsync(new byte[] { 7, 8, 9 }, CancellationToken.None);
        await WaitUntilAsync(() => port.BytesAvailable == 3, "three bytes queued at the port");

        await _pty.UnplugAsync();

        Assert.That(await ReadExactlyAsync(port, 3), Is.EqualTo(new byte[] { 7, 8, 9 }));
        Assert.CatchAsync<TransportException>(async () => await port.ReadAsync(new byte[16], Patience, CancellationToken.None));
    }

    [Test]
    public async Task DiscardInput_drops_pending_bytes()
    {
        await using var port = OpenPort();
        await _pty.Master.WriteAsync("garbled"u8.ToArray(), CancellationToken.None);
        await WaitUntilAsync(() => port.BytesAvailable == 7, "seven bytes queued at the port");

        port.DiscardInput();
        await _pty.Master.WriteAsync("reply"u8.ToArray(), CancellationToken.None);

        Assert.That(await ReadExactlyAsync(port, 5), Is.EqualTo("reply"u8.ToArray()));
        Assert.That(await port.ReadAsync(new byte[16], TimeSpan.FromMilliseconds(50), CancellationToken.None), Is.Zero);
    }

    [Test]
    public async Task Rs485_Auto_on_a_pseudo_terminal_ends_as_Off()
    {
        await using var port = OpenPort(rs485: Rs485Mode.Auto);

        Assert.That(port.EffectiveRs485Mode, Is.EqualTo(Rs485Mode.Off));
        await port.WriteAsync(new byte[] { 0x7E }, CancellationToken.None);
        Assert.That(await ReadExactlyAsync(_pty.Master, 1), Is.EqualTo(new byte[] { 0x7E }));
    }

    [Test]
    public void Rs485_Kernel_on_a_pseudo_terminal_fails_with_a_clear_message()
    {
        var error = Assert.Throws<TransportException>(() => OpenPort(rs485: Rs485Mode.Kernel))!;

        Assert.That(error.Message, Does.Contain(_pty.SlavePath));
        Assert.That(error.Message, Does.Contain("driver has no kernel RS-485 mode"));
        Assert.That(error.Message, Does.Contain("Use Rs485Mode Auto or RtsToggle"));
        Assert.That(error.IsTransient, Is.False);
    }

    [Test]
    public async Task Rs485_RtsToggle_on_a_pseudo_terminal_fails_with_a_clear_message_and_leaves_the_port_free()
    {
        var error = Assert.Throws<TransportException>(() => OpenPort(rs485: Rs485Mode.RtsToggle))!;

        Assert.That(error.Message, Does.Contain("has no RTS line"));
        await using var port = OpenPort(); // the failed open released exclusivity
        Assert.That(port.EffectiveRs485Mode, Is.EqualTo(Rs485Mode.Off));
    }

    [Test]
    public async Task Disposing_the_port_ends_a_pending_read()
    {
        var port = OpenPort();
        var read = port.ReadAsync(new byte[16], TimeSpan.FromMinutes(5), CancellationToken.None).AsTask();

        await port.DisposeAsync();

        Assert.CatchAsync<ObjectDisposedException>(async () => await read);
        Assert.That(port.IsBroken, Is.True);
    }

    [Test]
    public async Task The_factory_opens_a_Linux_serial_port_on_Linux()
    {
        await using var port = SerialPortFactory.Open(new SerialPortSettings(_pty.SlavePath, 38400));

        Assert.That(port, Is.InstanceOf<LinuxSerialPort>());
        Assert.That(port.Name, Is.EqualTo(_pty.SlavePath));
        Assert.That(port.BaudRate, Is.EqualTo(38400));
    }
}
