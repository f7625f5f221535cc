using System.Runtime.Versioning;
using Kezekshi.Edge.Devices.Transport;
using Kezekshi.Edge.Devices.Transport.Pty;
using Kezekshi.Edge.Devices.Transport.Serial;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Tests.Transport.Pty;

[Category("Integration")]
[SupportedOSPlatform("linux")]
public class PseudoTerminalTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [SetUp]
    public void SetUp()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("Pseudo-terminals are Linux-only.");
    }

    [Test]
    public async Task The_slave_path_is_a_pts_device_and_the_master_carries_the_nominal_baud_rate()
    {
        await using var pty = PseudoTerminal.Open(nominalBaudRate: 19200);

        Assert.That(pty.SlavePath, Does.StartWith("/dev/pts/"));
        Assert.That(File.Exists(pty.SlavePath), Is.True);
        Assert.That(pty.Master.BaudRate, Is.EqualTo(19200));
        Assert.That(pty.Master.Name, Does.Contain(pty.SlavePath));
        Assert.That(pty.Master.IsBroken, Is.False);
    }

    [Test]
    public async Task A_master_read_with_no_data_returns_zero_after_the_timeout()
    {
        await using var pty = PseudoTerminal.Open();

        int n = await pty.Master.ReadAsync(new byte[8], TimeSpan.FromMilliseconds(50), CancellationToken.None);

        Assert.That(n, Is.Zero);
    }

    [Test]
    public async Task The_master_does_not_see_a_hang_up_while_the_port_is_closed_and_reopened()
    {
        await using var pty = PseudoTerminal.Open();
        var settings = new SerialPortSettings(pty.SlavePath);

        for (int round = 0; round < 3; round++)
        {
            await using var port = LinuxSerialPort.Open(settings);
            await port.WriteAsync(new[] { (byte)round }, CancellationToken.None);
            var one = new byte[1];
            Assert.That(await pty.Master.ReadAsync(one, Patience, CancellationToken.None), Is.EqualTo(1));
            Assert.That(one[0], Is.EqualTo(round));
        }

        Assert.That(await pty.Master.ReadAsync(new byte[1], TimeSpan.FromMilliseconds(50), CancellationToken.None), Is.Zero);
        Assert.That(pty.Master.IsBroken, Is.False);
    }

    [Test]
    public async Task Master_DiscardInput_drops_what_the_port_sent()
    {
        await using var pty = PseudoTerminal.Open();
        await using var port = LinuxSerialPort.Open(new SerialPortSettings(pty.SlavePath));
        await port.WriteAsync("stale"u8.ToArray(), CancellationToken.None);
        var giveUp = DateTime.UtcNow + Patience;
        while (pty.Master.BytesAvailable < 5)
        {
            if (DateTime.UtcNow > giveUp) Assert.Fail("The five bytes never reached the master.");
            await Task.Delay(5);
        }

        pty.Master.DiscardInput();
        await port.WriteAsync("x"u8.ToArray(), CancellationToken.None);

        var buffer = new byte[16];
        int n = await pty.Master.ReadAsync(buffer, Patience, CancellationToken.None);
        Assert.That(buffer[..n], Is.EqualTo("x"u8.ToArray()));
    }

    [Test]
    public async Task After_unplugging_the_master_is_disposed_and_the_pair_can_still_be_disposed()
    {
        var pty = PseudoTerminal.Open();

        await pty.UnplugAsync();

        Assert.That(pty.Master.IsBroken, Is.True);
        Assert.ThrowsAsync<ObjectDisposedException>(async () => await pty.Master.WriteAsync(new byte[] { 1 }, CancellationToken.None));
        await pty.DisposeAsync();
    }

    [Test]
    public async Task Rs485_Auto_on_a_pseudo_terminal_logs_why_it_fell_back_to_Off()
    {
        await using var pty = PseudoTerminal.Open();
        var logger = new ListLogger();

        await using var port = SerialPortFactory.Open(new SerialPortSettings(pty.SlavePath, Rs485Mode: Rs485Mode.Auto), logger);

        Assert.That(port.EffectiveRs485Mode, Is.EqualTo(Rs485Mode.Off));
        Assert.That(logger.Lines, Has.Some.Contains("falling back to full duplex (Off)"));
        Assert.That(logger.Lines, Has.Some.Contains($"Serial port {pty.SlavePath} opened at 9600 8N1, RS-485 direction control: Off."));
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add(formatter(state, exception));
        }
    }
}
