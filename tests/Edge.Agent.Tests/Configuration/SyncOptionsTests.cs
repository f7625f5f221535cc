using Kezekshi.Edge.Agent.Configuration;

namespace Kezekshi.Edge.Agent.Tests.Configuration;

/// <summary>Data stays in the country: a central endpoint outside the allowed hosts is refused with a clear error.</summary>
[Category("Unit")]
public class SyncOptionsTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory();
        foreach (string name in new[] { "ca.pem", "school.pem", "school.key" }) File.WriteAllText(_dir.File(name), "x");
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private SyncOptions Options(params string[] brokers) => new()
    {
        Region = "almaty", Brokers = [.. brokers],
        CaFile = _dir.File("ca.pem"), CertFile = _dir.File("school.pem"), KeyFile = _dir.File("school.key"),
    };

    [Test]
    public void Brokers_in_the_country_are_accepted_in_order()
    {
        var problems = new List<string>();
        var brokers = Options("mqtt-1.almaty.edu.kz:8883", "mqtt-2.almaty.edu.kz:8883", "127.0.0.1:18883").Validate(problems);
        Assert.That(problems, Is.Empty);
        Assert.That(brokers, Is.EqualTo(new[] { ("mqtt-1.almaty.edu.kz", 8883), ("mqtt-2.almaty.edu.kz", 8883), ("127.0.0.1", 18883) }));
    }

    [TestCase("mqtt.example.com:8883")]
    [TestCase("kz.attacker.net:8883")]
    [TestCase("10.0.0.5:8883")]
    [TestCase("evilkz:8883")]
    public void A_broker_outside_the_allowed_hosts_is_refused_with_the_reason(string broker)
    {
        var problems = new List<string>();
        var brokers = Options(broker).Validate(problems);
        Assert.That(brokers, Is.Empty);
        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.Contain("is not in Edge:Sync:AllowedHosts").And.Contain("inside the country"));
    }

    [TestCase("no-port")]
    [TestCase("host:0")]
    [TestCase("host:99999")]
    [TestCase("bad host:8883")]
    public void A_malformed_broker_address_is_named(string broker)
    {
        var problems = new List<string>();
        Options(broker).Validate(problems);
        Assert.That(problems, Has.Some.Contain("is not host:port"));
    }

    [Test]
    public void The_protocol_version_is_MQTT_5_unless_3_1_1_is_configured_for_RabbitMQ()
    {
        var problems = new List<string>();
        var options = Options("mqtt-1.almaty.edu.kz:8883");
        Assert.That(options.MqttVersion, Is.EqualTo(Kezekshi.Mqtt.MqttProtocolVersion.V5));
        options.ProtocolVersion = "3.1.1";
        options.Validate(problems);
        Assert.That(problems, Is.Empty);
        Assert.That(options.MqttVersion, Is.EqualTo(Kezekshi.Mqtt.MqttProtocolVersion.V311));
    }

    [TestCase("4")]
    [TestCase("3.1")]
    [TestCase("mqtt")]
    public void An_unknown_protocol_version_is_named_with_the_ones_that_work(string version)
    {
        var problems = new List<string>();
        var options = Options("mqtt-1.almaty.edu.kz:8883");
        options.ProtocolVersion = version;
        options.Validate(problems);
        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.Contain($"Edge:Sync:ProtocolVersion \"{version}\"").And.Contain("\"3.1.1\""));
    }

    [TestCase(0)]
    [TestCase(601)]
    public void A_reconnect_back_off_outside_1_to_600_seconds_is_named(int seconds)
    {
        var problems = new List<string>();
        var options = Options("mqtt-1.almaty.edu.kz:8883");
        options.ReconnectDelayMaxSeconds = seconds;
        options.Validate(problems);
        Assert.That(problems, Is.EqualTo(new[] { $"Edge:Sync:ReconnectDelayMaxSeconds {seconds} must be 1–600 (seconds; the default is 30)." }));
    }

    [Test]
    public void Missing_certificates_and_a_bad_region_are_each_named()
    {
        var options = new SyncOptions { Region = "Almaty City", Brokers = ["127.0.0.1:8883"], CaFile = "/nonexistent/ca.pem" };
        var problems = new List<string>();
        options.Validate(problems);
        Assert.That(problems, Has.Some.Contain("Edge:Sync:Region"));
        Assert.That(problems, Has.Some.Contain("Edge:Sync:CaFile \"/nonexistent/ca.pem\" does not exist"));
        Assert.That(problems, Has.Some.Contain("Edge:Sync:CertFile is not set"));
        Assert.That(problems, Has.Some.Contain("Edge:Sync:KeyFile is not set"));
    }

    [Test]
    public void Without_brokers_sync_is_off_and_nothing_is_checked()
    {
        var problems = new List<string>();
        Assert.That(new SyncOptions().Validate(problems), Is.Empty);
        Assert.That(problems, Is.Empty);
        Assert.That(new SyncOptions().Enabled, Is.False);
    }
}
