using Kezekshi.Mqtt;
using Kezekshi.Server.Sync.Hosting;
using Kezekshi.Server.Sync.Ingest;
using Microsoft.Extensions.Options;

namespace Kezekshi.Server.Sync.Tests.Hosting;

/// <summary>
/// The centre's broker settings for a cluster without MQTT 5 or shared subscriptions (RabbitMQ 3.10): the protocol
/// version and plain uplink filters, each wrong value refused with what to write instead.
/// </summary>
[Category("Unit")]
public sealed class CentreMqttOptionsTests
{
    [Test]
    public void By_default_the_centre_speaks_MQTT_5_and_takes_the_shared_subscription()
    {
        var options = new CentreMqttOptions();
        Assert.That(options.ResolveProtocolVersion(), Is.EqualTo(MqttProtocolVersion.V5));
        Assert.That(options.ResolveUplinkFilters(), Is.EqualTo(new[] { MqttIngestWorker.UplinkFilter }));
    }

    [Test]
    public void RabbitMQ_settings_give_MQTT_3_1_1_and_the_plain_filters_in_order()
    {
        var options = new CentreMqttOptions
        {
            ProtocolVersion = "3.1.1",
            UplinkFilters = ["kz/v1/almaty/+/up/#", " kz/v1/astana/+/up/# ", "$share/kz-ingest/kz/v1/+/school-7/up/#"],
        };
        Assert.That(options.ResolveProtocolVersion(), Is.EqualTo(MqttProtocolVersion.V311));
        Assert.That(options.ResolveUplinkFilters(), Is.EqualTo(new[] { "kz/v1/almaty/+/up/#", "kz/v1/astana/+/up/#", "$share/kz-ingest/kz/v1/+/school-7/up/#" }));
    }

    [Test]
    public void An_unknown_protocol_version_is_refused_with_the_ones_that_work()
    {
        var options = new CentreMqttOptions { ProtocolVersion = "3" };
        var error = Assert.Throws<OptionsValidationException>(() => options.ResolveProtocolVersion())!;
        Assert.That(error.Message, Does.Contain("Centre:Mqtt:ProtocolVersion \"3\"").And.Contain("\"3.1.1\""));
    }

    [TestCase("#")]
    [TestCase("kz/v1/+/+/down/#")]
    [TestCase("kz/v1/+/+/up/events")]
    [TestCase("kz/v1/#/up/#")]
    [TestCase("$share/kz/v1/+/+/up/#")]
    public void A_filter_that_is_not_a_whole_uplink_is_refused_by_its_index(string filter)
    {
        var options = new CentreMqttOptions { UplinkFilters = ["kz/v1/almaty/+/up/#", filter] };
        var error = Assert.Throws<OptionsValidationException>(() => options.ResolveUplinkFilters())!;
        Assert.That(error.Message, Does.Contain($"Centre:Mqtt:UplinkFilters[1] \"{filter}\"").And.Contain("kz/v1/<region or +>/<school or +>/up/#"));
    }

    [Test]
    public void The_reconnect_back_off_is_10_seconds_unless_set_and_refused_outside_1_to_600()
    {
        Assert.That(new CentreMqttOptions().ResolveReconnectDelayMax(), Is.EqualTo(TimeSpan.FromSeconds(10)));
        Assert.That(new CentreMqttOptions { ReconnectDelayMaxSeconds = 3 }.ResolveReconnectDelayMax(), Is.EqualTo(TimeSpan.FromSeconds(3)));
        var error = Assert.Throws<OptionsValidationException>(() => new CentreMqttOptions { ReconnectDelayMaxSeconds = 0 }.ResolveReconnectDelayMax())!;
        Assert.That(error.Message, Does.Contain("Centre:Mqtt:ReconnectDelayMaxSeconds 0 must be 1–600"));
    }
}
