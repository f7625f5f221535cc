using System.Text;
using Kezekshi.Mqtt.Tests.Support;

namespace Kezekshi.Mqtt.Tests;

/// <summary>Mutual TLS and the per-school ACL of sync-protocol.md §2, against the broker configuration of libmosquitto-binding.md §6.</summary>
[TestFixture]
[Category("Integration")]
[CancelAfter(20_000)]
public sealed class TlsAndAclTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);
    private TestCertificates _pki = null!;
    private TestCertificates _foreignPki = null!;
    private MosquittoBroker _broker = null!;
    private readonly List<IAsyncDisposable> _clients = [];

    [OneTimeSetUp]
    public async Task StartBroker()
    {
        _pki = TestCertificates.Create("school-a", "school-b", "centre-1");
        _foreignPki = TestCertificates.Create("school-a");
        _broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions { Certificates = _pki });
    }

    [OneTimeTearDown]
    public async Task StopBroker()
    {
        await _broker.DisposeAsync();
        _pki.Dispose();
        _foreignPki.Dispose();
    }

    [TearDown]
    public async Task DisposeClients()
    {
        foreach (var client in _clients) await client.DisposeAsync();
        _clients.Clear();
    }

    private MqttClient Client(string clientId, string? certFile, string? keyFile, RecordingLogger<MqttClient>? logger = null)
    {
        var client = new MqttClient(new MqttClientOptions
        {
            Host = "127.0.0.1",
            Port = _broker.Port,
            ClientId = clientId,
            CaFile = _pki.CaFile,
            CertFile = certFile,
            KeyFile = keyFile,
        }, logger);
        _clients.Add(client);
        return client;
    }

    private MqttClient Identity(string name) => Client(name, _pki.CertFile(name), _pki.KeyFile(name));

    private static async Task<List<MqttMessage>> DrainAsync(MqttClient client, TimeSpan quiet)
    {
        var messages = new List<MqttMessage>();
        using var stop = new CancellationTokenSource(quiet);
        try
        {
            while (true) messages.Add(await client.Messages.ReadAsync(stop.Token));
        }
        catch (OperationCanceledException)
        {
        }
        return messages;
    }

    [Test]
    public async Task A_school_certificate_connects_over_TLS()
    {
        var schoolA = Identity("school-a");
        await schoolA.ConnectAsync().WaitAsync(s_wait);
        Assert.That(schoolA.IsConnected, Is.True);
    }

    [Test]
    public async Task A_client_without_a_certificate_is_refused_with_a_clear_MqttException()
    {
        var logger = new RecordingLogger<MqttClient> { MinimumLevel = Microsoft.Extensions.Logging.LogLevel.Debug };
        var anonymous = Client("school-a", null, null, logger);
        var error = Assert.ThrowsAsync<MqttException>(() => anonymous.ConnectAsync().WaitAsync(s_wait));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error!.Message, Does.Contain("client certificate"));
        Assert.That(error.IsTransient, Is.False);
        Assert.That(anonymous.IsConnected, Is.False);
        await Task.CompletedTask;
    }

    [Test]
    public async Task A_certificate_from_another_CA_is_refused_with_a_clear_MqttException()
    {
        var impostor = Client("school-a", _foreignPki.CertFile("school-a"), _foreignPki.KeyFile("school-a"));
        var error = Assert.ThrowsAsync<MqttException>(() => impostor.ConnectAsync().WaitAsync(s_wait));
        Assert.That(error!.Message, Does.Contain("client certificate"));
        Assert.That(error.IsTransient, Is.False);
        Assert.That(impostor.IsConnected, Is.False);
        TestContext.Out.WriteLine(error.Message);
        await Task.CompletedTask;
    }

    [Test]
    public async Task A_school_publishes_only_its_own_uplink_and_reads_only_its_own_downlink()
    {
        var schoolA = Identity("school-a");
        var schoolB = Identity("school-b");
        var centre = Identity("centre-1");
        await Task.WhenAll(schoolA.ConnectAsync(), schoolB.ConnectAsync(), centre.ConnectAsync()).WaitAsync(s_wait);
        await centre.SubscribeAsync("kz/v1/+/+/up/#", 1);
        await schoolA.SubscribeAsync("kz/v1/r1/school-a/down/#", 1);
        await schoolA.SubscribeAsync("kz/v1/r1/school-b/down/#", 1); // granted by mosquitto, filtered at delivery
        await schoolB.SubscribeAsync("kz/v1/r1/school-b/down/#", 1);

        var own = await schoolA.PublishAsync("kz/v1/r1/school-a/up/events", "from-a"u8.ToArray(), 1, false).WaitAsync(s_wait);
        Assert.That(own.IsSuccess, Is.True, own.ReasonText);
        var atCentre = await centre.Messages.ReadAsync().AsTask().WaitAsync(s_wait);
        Assert.That((atCentre.Topic, Encoding.UTF8.GetString(atCentre.Payload.Span)), Is.EqualTo(("kz/v1/r1/school-a/up/events", "from-a")));

        var forged = await schoolA.PublishAsync("kz/v1/r1/school-b/up/events", "a-as-b"u8.ToArray(), 1, false).WaitAsync(s_wait);
        Assert.That(forged.IsSuccess, Is.False);
        Assert.That(forged.ReasonCode, Is.EqualTo(135), forged.ReasonText);

        var toB = await centre.PublishAsync("kz/v1/r1/school-b/down/changes", "to-b"u8.ToArray(), 1, false).WaitAsync(s_wait);
        var toA = await centre.PublishAsync("kz/v1/r1/school-a/down/changes", "to-a"u8.ToArray(), 1, false).WaitAsync(s_wait);
        Assert.That(toB.IsSuccess && toA.IsSuccess, Is.True);

        var atB = await schoolB.Messages.ReadAsync().AsTask().WaitAsync(s_wait);
        Assert.That(Encoding.UTF8.GetString(atB.Payload.Span), Is.EqualTo("to-b"));
        var atA = await DrainAsync(schoolA, TimeSpan.FromSeconds(1));
        Assert.That(atA.Select(m => Encoding.UTF8.GetString(m.Payload.Span)), Is.EqualTo(new[] { "to-a" }), "school A never sees school B's downlink");
        var moreAtCentre = await DrainAsync(centre, TimeSpan.FromMilliseconds(300));
        Assert.That(moreAtCentre, Is.Empty, "the forged uplink never reached the centre");
    }
}
