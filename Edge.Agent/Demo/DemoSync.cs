using Kezekshi.Edge.Agent.Runtime;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;
using Kezekshi.Mqtt;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Demo;

/// <summary>
/// The demo school's sync with the local broker tools/demo-broker.sh starts (TLS, the demo school's certificate): the
/// same session <c>run</c> uses. With the centre running (tools/centre.sh) the outbox empties as watermarks arrive;
/// without it the events stay in the outbox, as they would at a school whose internet link is down.
/// </summary>
public sealed class DemoSync : IAsyncDisposable
{
    public const string Region = "almaty";

    private readonly MqttSyncConnection _connection;
    private readonly OutboxBatcher _batcher;
    private readonly SyncSession _session;
    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;

    private DemoSync(MqttSyncConnection connection, OutboxBatcher batcher, SyncSession session)
    {
        _connection = connection;
        _batcher = batcher;
        _session = session;
    }

    /// <summary>Connects to <paramref name="broker"/> with the certificates in <paramref name="pkiDirectory"/>; null (and a line saying why) when it cannot.</summary>
    public static async Task<DemoSync?> StartAsync(string broker, string pkiDirectory, EdgeDatabase database, AgentRuntime runtime, ILoggerFactory loggers, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(runtime);
        if (!Configuration.SyncOptions.TryParseBroker(broker, out string host, out int port))
        {
            await output.WriteLineAsync($"      sync: \"{broker}\" is not host:port; the demo runs without sync").ConfigureAwait(false);
            return null;
        }
        var options = new MqttClientOptions
        {
            Host = host, Port = port, ClientId = DemoSchool.SchoolId,
            CaFile = Path.Combine(pkiDirectory, "ca.crt"),
            CertFile = Path.Combine(pkiDirectory, DemoSchool.SchoolId + ".crt"),
            KeyFile = Path.Combine(pkiDirectory, DemoSchool.SchoolId + ".key"),
            SessionExpiry = TimeSpan.FromDays(1), ReconnectDelayMin = TimeSpan.FromSeconds(1), ReconnectDelayMax = TimeSpan.FromSeconds(5),
        };
        var connection = new MqttSyncConnection(options, Region, DemoSchool.SchoolId, loggers);
        try
        {
            await connection.ConnectAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MqttException or TimeoutException)
        {
            await output.WriteLineAsync($"      sync: cannot connect to {broker} ({e.Message}); the demo runs without sync").ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
            return null;
        }
        var batcher = new OutboxBatcher(database, DemoSchool.SchoolId, Region);
        var applier = new DownlinkApplier(database, [new RosterHandlers()], DemoSchool.SchoolId, Region, loggers.CreateLogger<DownlinkApplier>());
        applier.ChangesApplied += runtime.ReloadSnapshot;
        var session = new SyncSession(connection, batcher, new OutboxPublisher(batcher, connection, Region, DemoSchool.SchoolId, loggers.CreateLogger<OutboxPublisher>()),
            applier, Region, DemoSchool.SchoolId, loggers.CreateLogger<SyncSession>());
        var sync = new DemoSync(connection, batcher, session);
        sync._running = Task.Run(() => session.RunAsync(sync._stop.Token));
        await output.WriteLineAsync($"      sync: connected to {broker} as {DemoSchool.SchoolId} (TLS, client certificate); region {Region}").ConfigureAwait(false);
        return sync;
    }

    /// <summary>Gives the centre a few seconds to acknowledge, then prints where the outbox stands.</summary>
    public async Task ReportAsync(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var until = DateTime.UtcNow.AddSeconds(5);
        while (_batcher.Backlog() > 0 && DateTime.UtcNow < until) await Task.Delay(100).ConfigureAwait(false);
        long backlog = _batcher.Backlog();
        await output.WriteLineAsync($"      sync: {_session.Publisher.EventsSent} events published to the broker; centre watermark {_session.Publisher.Watermark}; " +
            (backlog == 0 ? "the outbox is empty (the centre acknowledged everything)" :
                $"{backlog} events wait in the outbox for the centre's acknowledgement (start the centre with tools/centre.sh and run the demo again)")).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
