using System.Globalization;
using Kezekshi.Mqtt;
using Kezekshi.Server.Sync.Downlink;
using Kezekshi.Server.Sync.Ingest;
using Microsoft.Extensions.Options;

namespace Kezekshi.Server.Sync.Hosting;

/// <summary>The centre's MQTT side (section <c>Centre:Mqtt</c>): which brokers, and this worker's certificate.</summary>
public sealed class CentreMqttOptions
{
    /// <summary>Broker addresses host:port (a cluster's nodes, tried in turn). Empty: the centre runs its HTTP API only.</summary>
    public List<string> Brokers { get; set; } = [];

    /// <summary>This worker's client ID = the CN of its certificate, e.g. "centre-1" (unique per worker).</summary>
    public string ClientId { get; set; } = "centre-1";

    public string? CaFile { get; set; }
    public string? CertFile { get; set; }
    public string? KeyFile { get; set; }

    /// <summary>MQTT protocol version: "5" (the default; mosquitto) or "3.1.1" (RabbitMQ 3.10's MQTT plugin).</summary>
    public string ProtocolVersion { get; set; } = "5";

    /// <summary>
    /// What this worker subscribes to for the schools' uplink. Empty: the shared subscription
    /// <see cref="MqttIngestWorker.UplinkFilter"/>, so any number of workers split the load. A broker without shared
    /// subscriptions (RabbitMQ before 4.x) delivers <c>$share/…</c> nowhere: give each worker plain, disjoint filters
    /// instead, e.g. <c>kz/v1/almaty/+/up/#</c> for one worker per region, or <c>kz/v1/+/+/up/#</c> for a single worker.
    /// </summary>
    public List<string> UplinkFilters { get; set; } = [];

    /// <summary>
    /// Upper bound of the reconnect back-off in seconds (default 10); with several brokers also about how long the worker
    /// stays with a dead node before it moves to the next (this plus 3 s).
    /// </summary>
    public int ReconnectDelayMaxSeconds { get; set; } = 10;

    /// <summary>The parsed <see cref="ProtocolVersion"/>; a clear configuration error when it is not one we speak.</summary>
    public MqttProtocolVersion ResolveProtocolVersion() =>
        MqttProtocolVersions.TryParse(ProtocolVersion, out var version) ? version
            : throw new OptionsValidationException("Centre:Mqtt:ProtocolVersion", typeof(CentreMqttOptions),
                [$"Centre:Mqtt:ProtocolVersion \"{ProtocolVersion}\" is not an MQTT version the centre speaks: use \"5\" (mosquitto, the default) or \"3.1.1\" (RabbitMQ before 3.13)."]);

    /// <summary>The reconnect back-off's upper bound; a clear configuration error outside 1–600 s.</summary>
    public TimeSpan ResolveReconnectDelayMax() => ReconnectDelayMaxSeconds is >= 1 and <= 600 ? TimeSpan.FromSeconds(ReconnectDelayMaxSeconds)
        : throw new OptionsValidationException("Centre:Mqtt:ReconnectDelayMaxSeconds", typeof(CentreMqttOptions),
            [$"Centre:Mqtt:ReconnectDelayMaxSeconds {ReconnectDelayMaxSeconds} must be 1–600 (seconds; the default is 10)."]);

    /// <summary>The uplink filters to subscribe (the shared one when none is set); each must cover <c>…/up/#</c> of the kz/v1 tree.</summary>
    public IReadOnlyList<string> ResolveUplinkFilters()
    {
        if (UplinkFilters.Count == 0) return [MqttIngestWorker.UplinkFilter];
        var problems = new List<string>();
        var filters = new List<string>();
        for (int i = 0; i < UplinkFilters.Count; i++)
        {
            string filter = UplinkFilters[i].Trim();
            // A filter must reach hello, acks and events of whole schools: kz/v1/{region|+}/{school|+}/up/#, optionally shared.
            string plain = filter.StartsWith("$share/", StringComparison.Ordinal) && filter.IndexOf('/', 7) is int slash and > 7 ? filter[(slash + 1)..] : filter;
            string[] levels = plain.Split('/');
            if (levels is not ["kz", "v1", { Length: > 0 } region, { Length: > 0 } school, "up", "#"] || region.Contains('#', StringComparison.Ordinal) || school.Contains('#', StringComparison.Ordinal))
                problems.Add($"Centre:Mqtt:UplinkFilters[{i}] \"{filter}\" is not an uplink filter: use kz/v1/<region or +>/<school or +>/up/# (e.g. \"kz/v1/almaty/+/up/#\"), optionally as $share/<group>/kz/v1/….");
            else filters.Add(filter);
        }
        return problems.Count == 0 ? filters : throw new OptionsValidationException("Centre:Mqtt:UplinkFilters", typeof(CentreMqttOptions), problems);
    }
}

/// <summary>Runs an ingest worker and the school sessions (hello, acks, downlink) on the configured broker.</summary>
public sealed class CentreMqttService(IOptions<CentreOptions> options, EventIngestor ingestor, DownlinkFeed feed, ILoggerFactory loggers) : BackgroundService
{
    public SchoolSessions? Sessions { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var mqtt = options.Value.Mqtt;
        var logger = loggers.CreateLogger<CentreMqttService>();
        if (mqtt.Brokers.Count == 0)
        {
            logger.LogWarning("No MQTT broker configured (Centre:Mqtt:Brokers): the centre serves its HTTP API but receives nothing from schools.");
            return;
        }
        var brokers = mqtt.Brokers.Select(Parse).ToList();
        var filters = mqtt.ResolveUplinkFilters();
        await using var client = new MqttClient(new MqttClientOptions
        {
            Host = brokers[0].Host,
            Port = brokers[0].Port,
            Brokers = brokers.Skip(1).ToList(),
            ClientId = mqtt.ClientId,
            ProtocolVersion = mqtt.ResolveProtocolVersion(),
            CaFile = mqtt.CaFile,
            CertFile = mqtt.CertFile,
            KeyFile = mqtt.KeyFile,
            SessionExpiry = TimeSpan.FromDays(1),
            ReconnectDelayMin = TimeSpan.FromSeconds(1),
            ReconnectDelayMax = mqtt.ResolveReconnectDelayMax(),
        }, loggers.CreateLogger<MqttClient>());
        Sessions = new SchoolSessions(feed, ingestor, (topic, payload, ct) => PublishAsync(client, topic, payload, ct), loggers.CreateLogger<SchoolSessions>())
        {
            SnapshotAbove = options.Value.SnapshotAbove,
        };
        var worker = new MqttIngestWorker(client, ingestor, loggers.CreateLogger<MqttIngestWorker>(), sessions: Sessions, uplinkFilters: filters);
        try
        {
            await client.ConnectAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (MqttException e) when (e.IsTransient)
        {
            logger.LogWarning("The broker is not reachable yet ({Problem}); the worker keeps trying.", e.Message);
        }
        await Task.WhenAll(worker.RunAsync(stoppingToken), Sessions.RunAsync(stoppingToken)).ConfigureAwait(false);
    }

    private static async Task<bool> PublishAsync(MqttClient client, string topic, ReadOnlyMemory<byte> payload, CancellationToken ct) =>
        (await client.PublishAsync(topic, payload, 1, false, ct).ConfigureAwait(false)).IsSuccess;

    private static MqttBroker Parse(string entry)
    {
        int colon = entry.LastIndexOf(':');
        return colon > 0 && int.TryParse(entry.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and < 65536
            ? new MqttBroker(entry[..colon], port)
            : throw new OptionsValidationException("Centre:Mqtt:Brokers", typeof(CentreMqttOptions), [$"Centre:Mqtt:Brokers entry \"{entry}\" is not host:port (e.g. \"mqtt-1.region.edu.kz:8883\")."]);
    }
}
