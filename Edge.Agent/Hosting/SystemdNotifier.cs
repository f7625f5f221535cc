using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Hosting;

/// <summary>
/// The service manager's notification protocol (sd_notify(3)), written by hand: state lines such as
/// <c>READY=1</c> sent as datagrams to the Unix socket named by <c>NOTIFY_SOCKET</c>.
/// When that variable is unset (not started by systemd, or on Windows) every call is a no-op.
/// </summary>
/// <remarks>
/// <para>Why by hand: Microsoft.Extensions.Hosting.Systemd is not available to us, and the protocol is
/// one datagram per notification (systemd's sd_notify(3), "NOTIFY_SOCKET"; sd_watchdog_enabled(3)).
/// A name starting with <c>@</c> is a Linux abstract socket: the <c>@</c> stands for a leading NUL byte.</para>
/// <para>The values are passed in, not read inside, so tests use their own socket without touching the
/// process environment; <see cref="FromEnvironment"/> reads the real ones.</para>
/// </remarks>
public sealed class SystemdNotifier : IDisposable
{
    private readonly UnixDomainSocketEndPoint? _endPoint;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private Socket? _socket;
    private bool _failureLogged;
    private bool _disposed;

    /// <param name="notifySocket">The value of <c>NOTIFY_SOCKET</c>: a socket path, or <c>@name</c> for an abstract socket; null or empty disables notifications.</param>
    /// <param name="watchdogUsec">The value of <c>WATCHDOG_USEC</c>: the watchdog interval in microseconds; null or invalid disables the watchdog.</param>
    /// <param name="watchdogPid">The value of <c>WATCHDOG_PID</c>: if set, the watchdog is ours only when it equals <paramref name="processId"/>.</param>
    /// <param name="processId">Our process ID; default <see cref="Environment.ProcessId"/>.</param>
    /// <param name="logger">Where a failed send is reported (once).</param>
    public SystemdNotifier(string? notifySocket, string? watchdogUsec = null, string? watchdogPid = null, int? processId = null, ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        SocketName = string.IsNullOrEmpty(notifySocket) ? null : notifySocket;
        if (SocketName is not null && (SocketName[0] == '/' || SocketName[0] == '@') && Socket.OSSupportsUnixDomainSockets)
            _endPoint = new UnixDomainSocketEndPoint(SocketName[0] == '@' ? "\0" + SocketName[1..] : SocketName);

        int pid = processId ?? Environment.ProcessId;
        bool ours = string.IsNullOrEmpty(watchdogPid)
            || (int.TryParse(watchdogPid, NumberStyles.None, CultureInfo.InvariantCulture, out int watchdogFor) && watchdogFor == pid);
        if (ours && long.TryParse(watchdogUsec, NumberStyles.None, CultureInfo.InvariantCulture, out long usec) && usec > 0)
            WatchdogInterval = TimeSpan.FromMicroseconds(usec);
    }

    /// <summary>A notifier for the real environment: <c>NOTIFY_SOCKET</c>, <c>WATCHDOG_USEC</c>, <c>WATCHDOG_PID</c>.</summary>
    public static SystemdNotifier FromEnvironment(ILogger? logger = null) => new(
        Environment.GetEnvironmentVariable("NOTIFY_SOCKET"),
        Environment.GetEnvironmentVariable("WATCHDOG_USEC"),
        Environment.GetEnvironmentVariable("WATCHDOG_PID"),
        logger: logger);

    /// <summary>The <c>NOTIFY_SOCKET</c> value, or null when not started by systemd with <c>Type=notify</c>.</summary>
    public string? SocketName { get; }

    /// <summary>True when notifications go somewhere (a usable <c>NOTIFY_SOCKET</c>).</summary>
    public bool IsEnabled => _endPoint is not null;

    /// <summary>systemd's <c>WatchdogSec=</c> for this process, or null when no watchdog is asked for (or it is for another PID).</summary>
    public TimeSpan? WatchdogInterval { get; }

    /// <summary>Startup is complete (<c>READY=1</c>): systemd reports the unit active and starts units ordered after it.</summary>
    public bool NotifyReady() => Notify("READY=1");

    /// <summary>A one-line status shown by <c>systemctl status</c> (<c>STATUS=…</c>).</summary>
    public bool NotifyStatus(string status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return Notify("STATUS=" + status.ReplaceLineEndings(" "));
    }

    /// <summary>Keep-alive ping (<c>WATCHDOG=1</c>): without it for <c>WatchdogSec</c>, systemd kills and restarts the service.</summary>
    public bool NotifyWatchdog() => Notify("WATCHDOG=1");

    /// <summary>Shutdown has begun (<c>STOPPING=1</c>).</summary>
    public bool NotifyStopping() => Notify("STOPPING=1");

    /// <summary>
    /// Sends one datagram with <paramref name="state"/> (one or more <c>KEY=VALUE</c> lines).
    /// Returns false when not under systemd or when sending failed (logged once; the agent keeps working).
    /// </summary>
    public bool Notify(string state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (_endPoint is null) return false;
        byte[] datagram = Encoding.UTF8.GetBytes(state);
        lock (_lock)
        {
            if (_disposed) return false;
            try
            {
                _socket ??= new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
                _socket.SendTo(datagram, SocketFlags.None, _endPoint);
                return true;
            }
            catch (SocketException e)
            {
                if (!_failureLogged)
                {
                    _failureLogged = true;
                    AgentLog.SystemdNotifyFailed(_logger, SocketName!, e.Message);
                }
                return false;
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _socket?.Dispose();
            _socket = null;
        }
    }
}

/// <summary>Tells systemd when the host has started (<c>READY=1</c>) and when it begins to stop (<c>STOPPING=1</c>).</summary>
/// <remarks>
/// With <c>Type=notify</c> systemd waits for <c>READY=1</c> before it calls the unit started, so it is sent
/// from <see cref="IHostApplicationLifetime.ApplicationStarted"/>: after every hosted service's StartAsync.
/// </remarks>
public sealed class SystemdLifetimeService : IHostedService, IDisposable
{
    private readonly SystemdNotifier _notifier;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly Func<string>? _readyStatus;
    private readonly List<CancellationTokenRegistration> _registrations = [];

    /// <param name="readyStatus">Optional <c>STATUS=</c> text sent after <c>READY=1</c>, e.g. "2 gates, 4 devices".</param>
    public SystemdLifetimeService(SystemdNotifier notifier, IHostApplicationLifetime lifetime, Func<string>? readyStatus = null)
    {
        _notifier = notifier ?? throw new ArgumentNullException(nameof(notifier));
        _lifetime = lifetime ?? throw new ArgumentNullException(nameof(lifetime));
        _readyStatus = readyStatus;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_notifier.IsEnabled) return Task.CompletedTask;
        _registrations.Add(_lifetime.ApplicationStarted.Register(() =>
        {
            _notifier.NotifyReady();
            if (_readyStatus is not null) _notifier.NotifyStatus(_readyStatus());
        }));
        _registrations.Add(_lifetime.ApplicationStopping.Register(() => _notifier.NotifyStopping()));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _registrations.Clear();
    }
}

/// <summary>
/// Sends <c>WATCHDOG=1</c> every half <c>WatchdogSec</c>, but only while <c>healthCheck</c> says the agent
/// works (e.g. every gate loop made progress recently). A hung agent stops pinging and systemd restarts it.
/// </summary>
/// <remarks>
/// Half the interval is what sd_watchdog_enabled(3) recommends. A health check that throws counts as unhealthy.
/// Does nothing when systemd asked for no watchdog (<c>WATCHDOG_USEC</c> unset) or for another PID.
/// </remarks>
public sealed class SystemdWatchdogService : BackgroundService
{
    private readonly SystemdNotifier _notifier;
    private readonly Func<bool> _healthCheck;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public SystemdWatchdogService(SystemdNotifier notifier, Func<bool> healthCheck, TimeProvider? time = null, ILogger<SystemdWatchdogService>? logger = null)
    {
        _notifier = notifier ?? throw new ArgumentNullException(nameof(notifier));
        _healthCheck = healthCheck ?? throw new ArgumentNullException(nameof(healthCheck));
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>How often the health check runs and the ping is sent: half the watchdog interval; null when there is no watchdog.</summary>
    public TimeSpan? PingInterval => _notifier.IsEnabled && _notifier.WatchdogInterval is { } interval ? interval / 2 : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (PingInterval is not { } period) return;
        bool healthy = true;
        using var timer = new PeriodicTimer(period, _time);
        do
        {
            bool now = IsHealthy();
            if (now) _notifier.NotifyWatchdog();
            if (now != healthy)
            {
                if (now) AgentLog.WatchdogResumed(_logger);
                else AgentLog.WatchdogWithheld(_logger, _notifier.WatchdogInterval!.Value.TotalSeconds);
                healthy = now;
            }
        }
        while (await WaitAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try { return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false); }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return false; }
    }

    private bool IsHealthy()
    {
        try { return _healthCheck(); }
        catch (Exception e)
        {
            AgentLog.WatchdogHealthCheckFailed(_logger, e);
            return false;
        }
    }
}

/// <summary>Registers the systemd integration (a no-op outside systemd).</summary>
public static class SystemdServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="SystemdNotifier"/> (from the environment, unless one is registered already), <see cref="SystemdLifetimeService"/> and
    /// <see cref="SystemdWatchdogService"/>, whose pings depend on <paramref name="healthCheck"/>.
    /// </summary>
    /// <param name="healthCheck">Builds the "agent is working" check from the services, e.g. "every gate loop ticked within 5 s".</param>
    public static IServiceCollection AddSystemdIntegration(this IServiceCollection services, Func<IServiceProvider, Func<bool>> healthCheck)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(healthCheck);
        services.TryAddSingleton(sp => SystemdNotifier.FromEnvironment(sp.GetService<ILogger<SystemdNotifier>>()));
        services.AddHostedService(sp => new SystemdLifetimeService(sp.GetRequiredService<SystemdNotifier>(), sp.GetRequiredService<IHostApplicationLifetime>()));
        services.AddHostedService(sp => new SystemdWatchdogService(sp.GetRequiredService<SystemdNotifier>(), healthCheck(sp),
            sp.GetService<TimeProvider>(), sp.GetService<ILogger<SystemdWatchdogService>>()));
        return services;
    }
}
