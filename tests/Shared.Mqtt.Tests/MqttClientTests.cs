using System.Text;
using System.Threading.Channels;
using Kezekshi.Mqtt.Tests.Support;

namespace Kezekshi.Mqtt.Tests;

[TestFixture]
[Category("Integration")]
[CancelAfter(20_000)]
public sealed class MqttClientTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);
    private readonly List<IAsyncDisposable> _cleanup = [];

    [TearDown]
    public async Task TearDown()
    {
        var errors = new List<Exception>();
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            try
            {
                await _cleanup[i].DisposeAsync(); // every broker is stopped even when a client's dispose fails
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        }
        _cleanup.Clear();
        if (errors.Count > 0) throw new AggregateException(errors);
    }

    private async Task<MosquittoBroker> BrokerAsync(MosquittoBrokerOptions? options = null)
    {
        var broker = await MosquittoBroker.StartAsync(options);
        _cleanup.Add(broker);
        return broker;
    }

    private MqttClient Client(MosquittoBroker broker, string clientId, RecordingLogger<MqttClient>? logger = null, TimeSpan? sessionExpiry = null,
        MqttProtocolVersion version = MqttProtocolVersion.V5)
    {
        var client = new MqttClient(new MqttClientOptions
        {
            Host = "127.0.0.1",
            Port = broker.Port,
            ClientId = clientId,
            ProtocolVersion = version,
            SessionExpiry = sessionExpiry ?? TimeSpan.Zero,
            ReconnectDelayMin = TimeSpan.FromSeconds(1),
            ReconnectDelayMax = TimeSpan.FromSeconds(1),
        }, logger);
        _cleanup.Add(client);
        return client;
    }

    private static async Task<MqttMessage> NextAsync(MqttClient client) =>
        await client.Messages.ReadAsync().AsTask().WaitAsync(s_wait);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("condition not met within " + s_wait);
            await Task.Delay(20);
        }
    }

    [TestCase(MqttProtocolVersion.V5)]
    [TestCase(MqttProtocolVersion.V311)]
    public async Task Qos1_round_trip_keeps_payload_bytes_intact_including_200_KiB(MqttProtocolVersion version)
    {
        var broker = await BrokerAsync();
        var logger = new RecordingLogger<MqttClient>();
        var subscriber = Client(broker, "sub", logger, version: version);
        var publisher = Client(broker, "pub", logger, version: version);
        await subscriber.ConnectAsync().WaitAsync(s_wait);
        await publisher.ConnectAsync().WaitAsync(s_wait);
        Assert.That(await subscriber.SubscribeAsync("t/#", 1), Is.EqualTo(1));

        var big = new byte[200 * 1024];
        new Random(42).NextBytes(big);
        byte[][] payloads = [Encoding.UTF8.GetBytes("hello"), [], [0, 1, 2, 0, 255], big];
        foreach (var payload in payloads)
        {
            var result = await publisher.PublishAsync("t/x", payload, 1, false).WaitAsync(s_wait);
            Assert.That(result.IsSuccess, Is.True, result.ReasonText);
            var message = await NextAsync(subscriber);
            Assert.Multiple(() =>
            {
                Assert.That(message.Topic, Is.EqualTo("t/x"));
                Assert.That(message.Payload.ToArray(), Is.EqualTo(payload));
                Assert.That(message.Qos, Is.EqualTo(1));
                Assert.That(message.Retain, Is.False);
            });
        }
        Assert.That(logger.Errors, Is.Empty);
    }

    [Test]
    public async Task Publish_completes_only_after_the_PUBACK_and_the_client_reconnects_by_itself_after_a_broker_crash()
    {
        var broker = await BrokerAsync();
        var publisher = Client(broker, "pub");
        var connects = 0;
        var disconnects = 0;
        publisher.Connected += (_, _) => Interlocked.Increment(ref connects);
        publisher.Disconnected += (_, _) => Interlocked.Increment(ref disconnects);
        await publisher.ConnectAsync().WaitAsync(s_wait);
        await WaitUntilAsync(() => Volatile.Read(ref connects) == 1);

        await broker.KillAsync();
        await WaitUntilAsync(() => !publisher.IsConnected);
        var pending = publisher.PublishAsync("t/offline", "queued"u8.ToArray(), 1, false);
        await Task.Delay(1500);
        Assert.That(pending.IsCompleted, Is.False, "no PUBACK can have arrived while the broker is down");

        await broker.RestartAsync();
        var result = await pending.WaitAsync(s_wait);
        Assert.That(result.IsSuccess, Is.True, result.ReasonText);
        await WaitUntilAsync(() => publisher.IsConnected && Volatile.Read(ref connects) == 2);
        Assert.That(Volatile.Read(ref disconnects), Is.EqualTo(1));
    }

    [Test]
    public async Task A_publish_before_connecting_is_queued_and_completes_after_the_CONNACK()
    {
        var broker = await BrokerAsync();
        var subscriber = Client(broker, "sub");
        await subscriber.ConnectAsync().WaitAsync(s_wait);
        await subscriber.SubscribeAsync("early/#", 1);
        var publisher = Client(broker, "pub");
        var early = publisher.PublishAsync("early/x", "before connect"u8.ToArray(), 1, false);
        Assert.That(early.IsCompleted, Is.False);
        await publisher.ConnectAsync().WaitAsync(s_wait);
        Assert.That((await early.WaitAsync(s_wait)).IsSuccess, Is.True);
        Assert.That(Encoding.UTF8.GetString((await NextAsync(subscriber)).Payload.Span), Is.EqualTo("before connect"));
    }

    [TestCase(MqttProtocolVersion.V5, 135)]
    [TestCase(MqttProtocolVersion.V311, 5)]
    public async Task A_refused_CONNACK_is_a_non_transient_MqttException_with_the_reason(MqttProtocolVersion version, int code)
    {
        var broker = await BrokerAsync(new MosquittoBrokerOptions { AllowAnonymous = false });
        var client = Client(broker, "nobody", version: version);
        var error = Assert.ThrowsAsync<MqttException>(() => client.ConnectAsync().WaitAsync(s_wait));
        Assert.Multiple(() =>
        {
            Assert.That(error!.ReasonCode, Is.EqualTo(code));
            Assert.That(error.Message, Does.Contain("Not authorized"));
            Assert.That(error.IsTransient, Is.False);
        });
    }

    [Test]
    public async Task A_thousand_qos1_messages_all_arrive_exactly_as_sent()
    {
        var broker = await BrokerAsync();
        var subscriber = Client(broker, "sub");
        var publisher = Client(broker, "pub");
        await subscriber.ConnectAsync().WaitAsync(s_wait);
        await publisher.ConnectAsync().WaitAsync(s_wait);
        await subscriber.SubscribeAsync("bulk/+", 1);

        var sent = Enumerable.Range(0, 1000).Select(i => $"message {i:D4} {new string('x', i % 50)}").ToList();
        var results = await Task.WhenAll(sent.Select(s => publisher.PublishAsync("bulk/a", Encoding.UTF8.GetBytes(s), 1, false))).WaitAsync(s_wait);
        Assert.That(results.All(r => r.IsSuccess), Is.True);
        Assert.That(results.Select(r => r.MessageId).Distinct().Count(), Is.EqualTo(1000));

        var received = new List<string>();
        while (received.Count < sent.Count)
        {
            received.Add(Encoding.UTF8.GetString((await NextAsync(subscriber)).Payload.Span));
        }
        Assert.That(received, Is.EquivalentTo(sent));
        await Task.Delay(300);
        Assert.That(subscriber.Messages.TryRead(out _), Is.False, "no duplicates or extras");
    }

    [TestCase(false, TestName = "A persistent session gets messages published while the broker was stopped, after a restart")]
    [TestCase(true, TestName = "A persistent session gets messages published while the broker was killed, after a restart")]
    public async Task A_persistent_session_gets_messages_published_while_the_broker_was_down_after_a_restart(bool kill)
    {
        var broker = await BrokerAsync(new MosquittoBrokerOptions { Persistence = true });
        var subscriber = Client(broker, "edge-1", sessionExpiry: TimeSpan.FromHours(1));
        var publisher = Client(broker, "centre", sessionExpiry: TimeSpan.FromHours(1));
        var sessionPresent = new List<bool>();
        subscriber.Connected += (_, e) => { lock (sessionPresent) sessionPresent.Add(e.SessionPresent); };
        await subscriber.ConnectAsync().WaitAsync(s_wait);
        await publisher.ConnectAsync().WaitAsync(s_wait);
        await subscriber.SubscribeAsync("kz/v1/r1/edge-1/down/#", 1);

        if (kill)
        {
            await Task.Delay(200); // let the autosave after the SUBSCRIBE happen
            await broker.KillAsync();
        }
        else
        {
            await broker.StopAsync();
        }
        await WaitUntilAsync(() => !subscriber.IsConnected && !publisher.IsConnected);
        var pending = Enumerable.Range(1, 5)
            .Select(i => publisher.PublishAsync("kz/v1/r1/edge-1/down/changes", Encoding.UTF8.GetBytes($"change {i}"), 1, false))
            .ToList();

        await broker.RestartAsync();
        var results = await Task.WhenAll(pending).WaitAsync(s_wait);
        Assert.That(results.All(r => r.IsSuccess), Is.True);
        var received = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            received.Add(Encoding.UTF8.GetString((await NextAsync(subscriber)).Payload.Span));
        }
        Assert.That(received, Is.EquivalentTo(Enumerable.Range(1, 5).Select(i => $"change {i}")));
        lock (sessionPresent) Assert.That(sessionPresent, Is.EqualTo(new[] { false, true }), "the second CONNACK resumed the session");
    }

    [Test]
    public async Task Disposing_while_connected_or_while_the_broker_is_down_is_clean()
    {
        var broker = await BrokerAsync();
        var connected = Client(broker, "a");
        await connected.ConnectAsync().WaitAsync(s_wait);
        var reader = connected.Messages;
        await connected.DisposeAsync().AsTask().WaitAsync(s_wait);
        Assert.That(reader.Completion.IsCompleted, Is.True);
        Assert.ThrowsAsync<ObjectDisposedException>(() => connected.PublishAsync("t", "x"u8.ToArray(), 1, false));
        await connected.DisposeAsync(); // twice is fine

        var lost = Client(broker, "b");
        await lost.ConnectAsync().WaitAsync(s_wait);
        await broker.KillAsync();
        await WaitUntilAsync(() => !lost.IsConnected);
        var unanswered = lost.PublishAsync("t", "x"u8.ToArray(), 1, false);
        await lost.DisposeAsync().AsTask().WaitAsync(s_wait);
        var error = Assert.ThrowsAsync<MqttException>(async () => await unanswered);
        Assert.That(error!.IsTransient, Is.True);

        var neverConnected = Client(broker, "c");
        var offline = Assert.ThrowsAsync<MqttException>(() => neverConnected.ConnectAsync());
        Assert.That(offline!.IsTransient, Is.True, offline.Message);
        await neverConnected.DisposeAsync().AsTask().WaitAsync(s_wait);

        var unused = Client(broker, "d");
        await unused.DisposeAsync().AsTask().WaitAsync(s_wait);
    }

    [Test]
    public async Task Exceptions_thrown_by_our_handlers_do_not_crash_the_process()
    {
        var broker = await BrokerAsync();
        var logger = new RecordingLogger<MqttClient>();
        var subscriber = Client(broker, "sub", logger);
        subscriber.Connected += (_, _) => throw new InvalidOperationException("handler bug");
        subscriber.MessageObserver = _ => throw new InvalidOperationException("callback bug");
        var publisher = Client(broker, "pub");
        await subscriber.ConnectAsync().WaitAsync(s_wait);
        await publisher.ConnectAsync().WaitAsync(s_wait);
        await subscriber.SubscribeAsync("t/#", 1);

        for (var i = 0; i < 3; i++)
        {
            await publisher.PublishAsync("t/x", new[] { (byte)i }, 1, false).WaitAsync(s_wait);
            Assert.That((await NextAsync(subscriber)).Payload.ToArray(), Is.EqualTo(new[] { (byte)i }));
        }
        await WaitUntilAsync(() => logger.Entries.Any(e => e.EventId.Id == 4105));
        Assert.That(logger.Entries.Count(e => e.EventId.Id == 4104), Is.EqualTo(3), "each callback exception was caught and logged");
        Assert.That(subscriber.IsConnected, Is.True);
    }
}
