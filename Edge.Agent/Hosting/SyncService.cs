using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Sync;
using Kezekshi.Mqtt;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Kezekshi.Edge.Agent.Hosting;

/// <summary>
/// Syncs the school with the centre for as long as the host runs (when <c>Edge:Sync:Brokers</c> is set): the outbox goes
/// up, the centre's changes come down and the gate's snapshot is reloaded when they touch it. The gates never wait for
/// it: offline, events wait in the outbox and the gates decide from the local store.
/// </summary>
public sealed class SyncService(IOptions<EdgeOptions> options, GateService gates, IEnumerable<IDownlinkHandler> handlers, ILoggerFactory loggers) : BackgroundService
{
    private SyncSession? _session;
    private MqttSyncConnection? _connection;

    /// <summary>True while the MQTT connection to the centre's broker is up.</summary>
    public bool IsConnected => _connection?.IsConnected ?? false;

    /// <summary>The running session (null while starting or when sync is off).</summary>
    public SyncSession? Session => _session;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var edge = options.Value;
        var logger = loggers.CreateLogger<SyncService>();
        if (!edge.Sync.Enabled)
        {
            logger.LogInformation("Sync with the centre is off (no Edge:Sync:Brokers): every event stays in the local outbox until it is configured.");
            return;
        }
        var brokers = edge.Sync.Validate([]);
        while (gates.Runtime is null && !stoppingToken.IsCancellationRequested)
            await Task.Delay(100, stoppingToken).ConfigureAwait(false);
        var runtime = gates.Runtime!;
        var database = runtime.Database;

        var mqtt = new MqttClientOptions
        {
            Host = brokers[0].Host,
            Port = brokers[0].Port,
            Brokers = [.. brokers.Skip(1).Select(b => new MqttBroker(b.Host, b.Port))],
            ClientId = edge.SchoolId,
            ProtocolVersion = edge.Sync.MqttVersion,
            CaFile = edge.Sync.CaFile,
            CertFile = edge.Sync.CertFile,
            KeyFile = edge.Sync.KeyFile,
            SessionExpiry = TimeSpan.FromDays(7),
            ReconnectDelayMin = TimeSpan.FromSeconds(1),
            ReconnectDelayMax = TimeSpan.FromSeconds(Math.Clamp(edge.Sync.ReconnectDelayMaxSeconds, 1, 600)),
        };
        await using var connection = new MqttSyncConnection(mqtt, edge.Sync.Region, edge.SchoolId, loggers);
        _connection = connection;
        var batcher = new OutboxBatcher(database, edge.SchoolId, edge.Sync.Region);
        var publisher = new OutboxPublisher(batcher, connection, edge.Sync.Region, edge.SchoolId, loggers.CreateLogger<OutboxPublisher>());
        var applier = new DownlinkApplier(database, [new RosterHandlers(), .. handlers], edge.SchoolId, edge.Sync.Region, loggers.CreateLogger<DownlinkApplier>());
        applier.ChangesApplied += runtime.ReloadSnapshot;
        _session = new SyncSession(connection, batcher, publisher, applier, edge.Sync.Region, edge.SchoolId, loggers.CreateLogger<SyncSession>());

        // The first connection may fail (centre unreachable at boot): libmosquitto's loop keeps reconnecting by itself,
        // and the session says hello whenever a connection comes up.
        try
        {
            await connection.ConnectAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (MqttException e) when (e.IsTransient)
        {
            logger.LogWarning("Cannot reach the centre's broker yet ({Problem}); the gates work offline, events wait in the outbox, and the agent keeps trying.", e.Message);
        }
        catch (MqttException e)
        {
            logger.LogError("The centre's broker refused this school: {Problem} Sync stays off until the certificate or configuration is fixed and the service restarted; the gates work offline.", e.Message);
            return;
        }
        await _session.RunAsync(stoppingToken).ConfigureAwait(false);
    }
}
