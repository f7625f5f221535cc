using System.Threading.Channels;
using Kezekshi.Mqtt;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Sync;

/// <summary>
/// The school's MQTT connection to the centre over libmosquitto: publishes uplink messages at QoS 1
/// and hands on what arrives on the school's downlink topics. Subscribes again after every connection
/// (the protocol never relies on the broker having kept the session).
/// </summary>
public sealed class MqttSyncConnection : ISyncConnection, IAsyncDisposable
{
    private readonly MqttClient _client;
    private readonly string _downlinkFilter;
    private readonly ILogger _logger;
    private readonly Channel<(string Topic, ReadOnlyMemory<byte> Payload)> _incoming =
        Channel.CreateBounded<(string, ReadOnlyMemory<byte>)>(new BoundedChannelOptions(1024) { SingleReader = false, FullMode = BoundedChannelFullMode.Wait });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;

    public MqttSyncConnection(MqttClientOptions options, string region, string school, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        _client = new MqttClient(options, loggers.CreateLogger<MqttClient>());
        _downlinkFilter = $"kz/v1/{region}/{school}/down/#";
        _logger = loggers.CreateLogger<MqttSyncConnection>();
        _client.Connected += (_, _) => _ = SubscribeAndAnnounceAsync();
        _pump = Task.Run(PumpAsync);
    }

    public bool IsConnected => _client.IsConnected;

    public ChannelReader<(string Topic, ReadOnlyMemory<byte> Payload)> Incoming => _incoming.Reader;

    public event Action? Connected;

    /// <summary>Connects (the library keeps reconnecting by itself afterwards).</summary>
    public Task ConnectAsync(CancellationToken cancellationToken) => _client.ConnectAsync(cancellationToken);

    public async Task<bool> PublishAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var result = await _client.PublishAsync(topic, payload, qos: 1, retain: false, cancellationToken).ConfigureAwait(false);
        return result.IsSuccess;
    }

    private async Task SubscribeAndAnnounceAsync()
    {
        try
        {
            await _client.SubscribeAsync(_downlinkFilter, 1, _stop.Token).ConfigureAwait(false);
            Connected?.Invoke();
        }
        catch (Exception e) when (e is MqttException or OperationCanceledException)
        {
            _logger.LogWarning("Could not subscribe to {Filter}: {Problem}. Check the broker ACL for this school.", _downlinkFilter, e.Message);
        }
    }

    private async Task PumpAsync()
    {
        try
        {
            await foreach (var message in _client.Messages.ReadAllAsync(_stop.Token).ConfigureAwait(false))
                await _incoming.Writer.WriteAsync((message.Topic, message.Payload), _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _pump.ConfigureAwait(false);
        await _client.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
