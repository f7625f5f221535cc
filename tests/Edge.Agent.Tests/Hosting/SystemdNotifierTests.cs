using System.Net.Sockets;
using System.Text;
using Kezekshi.Edge.Agent.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Kezekshi.Edge.Agent.Tests.Hosting;

/// <summary>A Unix datagram socket standing in for systemd's notification socket.</summary>
internal sealed class FakeNotifySocket : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    /// <param name="path">A file path, or a name starting with '@' for an abstract socket.</param>
    public FakeNotifySocket(string path)
    {
        Name = path;
        _socket.Bind(new UnixDomainSocketEndPoint(path[0] == '@' ? "\0" + path[1..] : path));
    }

    /// <summary>The NOTIFY_SOCKET value that reaches this socket.</summary>
    public string Name { get; }

    /// <summary>The next datagram, or null if none arrives within <paramref name="timeout"/>.</summary>
    public string? Receive(TimeSpan timeout)
    {
        if (!_socket.Poll(timeout, SelectMode.SelectRead)) return null;
        var buffer = new byte[4096];
        int count = _socket.Receive(buffer);
        return Encoding.UTF8.GetString(buffer, 0, count);
    }

    public List<string> Drain()
    {
        var received = new List<string>();
        while (Receive(TimeSpan.Zero) is { } datagram) received.Add(datagram);
        return received;
    }

    public void Dispose() => _socket.Dispose();
}

internal sealed class FakeLifetime : IHostApplicationLifetime, IDisposable
{
    private readonly CancellationTokenSource _started = new(), _stopping = new(), _stopped = new();
    public CancellationToken ApplicationStarted => _started.Token;
    public CancellationToken ApplicationStopping => _stopping.Token;
    public CancellationToken ApplicationStopped => _stopped.Token;
    public void Start() => _started.Cancel();
    public void StopApplication() => _stopping.Cancel();
    public void Dispose() { _started.Dispose(); _stopping.Dispose(); _stopped.Dispose(); }
}

[Category("Integration")]
[Platform("Linux")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class SystemdNotifierTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(2);

    [Test]
    public void Ready_status_watchdog_and_stopping_arrive_as_exact_datagrams_on_a_path_socket()
    {
        using var dir = new TempDirectory();
        using var systemd = new FakeNotifySocket(dir.File("notify.sock"));
        using var notifier = new SystemdNotifier(systemd.Name);

        Assert.That(notifier.IsEnabled, Is.True);
        Assert.That(notifier.NotifyReady(), Is.True);
        Assert.That(notifier.NotifyStatus("2 gates running\nall readers online"), Is.True);
        Assert.That(notifier.NotifyWatchdog(), Is.True);
        Assert.That(notifier.NotifyStopping(), Is.True);

        Assert.That(systemd.Receive(s_wait), Is.EqualTo("READY=1"));
        Assert.That(systemd.Receive(s_wait), Is.EqualTo("STATUS=2 gates running all readers online"));
        Assert.That(systemd.Receive(s_wait), Is.EqualTo("WATCHDOG=1"));
        Assert.That(systemd.Receive(s_wait), Is.EqualTo("STOPPING=1"));
    }

    [Test]
    public void An_at_sign_names_an_abstract_socket()
    {
        using var systemd = new FakeNotifySocket("@kezekshi-test-" + Guid.NewGuid().ToString("N"));
        using var notifier = new SystemdNotifier(systemd.Name);
        Assert.That(notifier.NotifyReady(), Is.True);
        Assert.That(systemd.Receive(s_wait), Is.EqualTo("READY=1"));
    }

    [Test]
    public void Without_NOTIFY_SOCKET_every_notification_is_a_silent_no_op()
    {
        using var notifier = new SystemdNotifier(notifySocket: null, watchdogUsec: "10000000");
        Assert.That(notifier.IsEnabled, Is.False);
        Assert.That(notifier.NotifyReady(), Is.False);
        Assert.That(notifier.NotifyWatchdog(), Is.False);
        using var watchdog = new SystemdWatchdogService(notifier, () => true);
        Assert.That(watchdog.PingInterval, Is.Null);
    }

    [Test]
    public void A_socket_nobody_listens_on_makes_notify_return_false_without_throwing()
    {
        using var dir = new TempDirectory();
        using var notifier = new SystemdNotifier(dir.File("nobody-here.sock"));
        Assert.That(notifier.IsEnabled, Is.True);
        Assert.That(notifier.NotifyReady(), Is.False);
        Assert.That(notifier.NotifyReady(), Is.False);
    }

    [Test]
    public void Watchdog_interval_comes_from_WATCHDOG_USEC_and_only_for_our_own_pid()
    {
        using var ours = new SystemdNotifier("/run/systemd/notify", "10000000", "4242", processId: 4242);
        using var unset = new SystemdNotifier("/run/systemd/notify", "10000000", null, processId: 4242);
        using var other = new SystemdNotifier("/run/systemd/notify", "10000000", "4243", processId: 4242);
        using var garbage = new SystemdNotifier("/run/systemd/notify", "ten seconds");
        Assert.That(ours.WatchdogInterval, Is.EqualTo(TimeSpan.FromSeconds(10)));
        Assert.That(unset.WatchdogInterval, Is.EqualTo(TimeSpan.FromSeconds(10)));
        Assert.That(other.WatchdogInterval, Is.Null);
        Assert.That(garbage.WatchdogInterval, Is.Null);
        using var watchdog = new SystemdWatchdogService(ours, () => true);
        Assert.That(watchdog.PingInterval, Is.EqualTo(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public async Task Watchdog_pings_at_half_the_interval_stop_while_the_health_check_fails_and_resume_when_it_passes()
    {
        using var dir = new TempDirectory();
        using var systemd = new FakeNotifySocket(dir.File("notify.sock"));
        using var notifier = new SystemdNotifier(systemd.Name, watchdogUsec: "200000"); // 200 ms: a ping every 100 ms
        bool healthy = true;
        using var watchdog = new SystemdWatchdogService(notifier, () => Volatile.Read(ref healthy));

        await watchdog.StartAsync(CancellationToken.None);
        try
        {
            for (int i = 0; i < 3; i++) Assert.That(systemd.Receive(s_wait), Is.EqualTo("WATCHDOG=1"));

            Volatile.Write(ref healthy, false);
            await Task.Delay(250); // a tick that already passed the check may still send
            systemd.Drain();
            Assert.That(systemd.Receive(TimeSpan.FromMilliseconds(600)), Is.Null, "no WATCHDOG=1 while the agent is unhealthy");

            Volatile.Write(ref healthy, true);
            Assert.That(systemd.Receive(s_wait), Is.EqualTo("WATCHDOG=1"));
        }
        finally
        {
            await watchdog.StopAsync(CancellationToken.None);
        }
    }

    [Test]
    public async Task A_health_check_that_throws_counts_as_unhealthy()
    {
        using var dir = new TempDirectory();
        using var systemd = new FakeNotifySocket(dir.File("notify.sock"));
        using var notifier = new SystemdNotifier(systemd.Name, watchdogUsec: "100000");
        using var watchdog = new SystemdWatchdogService(notifier, () => throw new InvalidOperationException("gate loop state unreadable"));
        await watchdog.StartAsync(CancellationToken.None);
        Assert.That(systemd.Receive(TimeSpan.FromMilliseconds(400)), Is.Null);
        await watchdog.StopAsync(CancellationToken.None);
    }

    [Test]
    public async Task Lifetime_service_sends_ready_with_status_once_started_and_stopping_on_shutdown()
    {
        using var dir = new TempDirectory();
        using var systemd = new FakeNotifySocket(dir.File("notify.sock"));
        using var notifier = new SystemdNotifier(systemd.Name);
        using var lifetime = new FakeLifetime();
        using var service = new SystemdLifetimeService(notifier, lifetime, () => "1 gate");

        await service.StartAsync(CancellationToken.None);
        Assert.That(systemd.Receive(TimeSpan.FromMilliseconds(100)), Is.Null, "READY=1 waits until the host has started");
        lifetime.Start();
        Assert.That(systemd.Receive(s_wait), Is.EqualTo("READY=1"));
        Assert.That(systemd.Receive(s_wait), Is.EqualTo("STATUS=1 gate"));
        lifetime.StopApplication();
        Assert.That(systemd.Receive(s_wait), Is.EqualTo("STOPPING=1"));
    }

    [Test]
    public async Task A_real_host_with_the_systemd_integration_says_ready_after_start_and_stopping_on_stop()
    {
        using var dir = new TempDirectory();
        using var systemd = new FakeNotifySocket(dir.File("notify.sock"));
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSingleton(new SystemdNotifier(systemd.Name));
        builder.Services.AddSystemdIntegration(_ => () => true);
        using var host = builder.Build();

        await host.StartAsync();
        Assert.That(systemd.Receive(s_wait), Is.EqualTo("READY=1"));
        await host.StopAsync();
        Assert.That(systemd.Receive(s_wait), Is.EqualTo("STOPPING=1"));
        Assert.That(systemd.Drain(), Is.Empty);
    }
}
