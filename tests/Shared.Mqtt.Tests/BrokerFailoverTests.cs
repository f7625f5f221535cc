using System.Net;
using System.Net.Sockets;
using System.Text;
using Kezekshi.Mqtt.Tests.Support;

namespace Kezekshi.Mqtt.Tests;

/// <summary>The client takes a list of brokers (a cluster's nodes) and never depends on one of them.</summary>
[TestFixture]
[Category("Integration")]
[CancelAfter(60_000)]
public sealed class BrokerFailoverTests
{
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port; // closed again when disposed: connecting is refused
    }

    [Test]
    public async Task The_first_connection_goes_to_the_next_broker_when_the_first_is_down()
    {
        await using var live = await MosquittoBroker.StartAsync();
        await using var client = new MqttClient(new MqttClientOptions
        {
            Host = "127.0.0.1", Port = ClosedPort(), Brokers = [new MqttBroker("127.0.0.1", live.Port)], ClientId = "failover-1",
            ReconnectDelayMin = TimeSpan.FromSeconds(1), ReconnectDelayMax = TimeSpan.FromSeconds(1),
        });
        await client.ConnectAsync();
        Assert.That(client.IsConnected, Is.True);
        Assert.That(client.CurrentBroker.Port, Is.EqualTo(live.Port));
        var published = await client.PublishAsync("t/1", Encoding.UTF8.GetBytes("x"), 1, false);
        Assert.That(published.IsSuccess, Is.True);
    }

    [Test]
    public async Task A_client_moves_to_another_node_when_its_broker_dies()
    {
        await using var first = await MosquittoBroker.StartAsync();
        await using var second = await MosquittoBroker.StartAsync();
        await using var client = new MqttClient(new MqttClientOptions
        {
            Host = "127.0.0.1", Port = first.Port, Brokers = [new MqttBroker("127.0.0.1", second.Port)], ClientId = "failover-2",
            ReconnectDelayMin = TimeSpan.FromSeconds(1), ReconnectDelayMax = TimeSpan.FromSeconds(1),
        });
        int connections = 0;
        client.Connected += (_, _) => Interlocked.Increment(ref connections);
        await client.ConnectAsync();
        Assert.That(client.CurrentBroker.Port, Is.EqualTo(first.Port));

        await first.KillAsync();
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!(client.IsConnected && client.CurrentBroker.Port == second.Port))
        {
            if (DateTime.UtcNow > until) Assert.Fail($"the client did not move to the second broker (connected {client.IsConnected}, at {client.CurrentBroker})");
            await Task.Delay(250);
        }
        Assert.That(Volatile.Read(ref connections), Is.GreaterThanOrEqualTo(2));
        var published = await client.PublishAsync("t/2", Encoding.UTF8.GetBytes("y"), 1, false);
        Assert.That(published.IsSuccess, Is.True, "publishing works on the new node");
    }
}
