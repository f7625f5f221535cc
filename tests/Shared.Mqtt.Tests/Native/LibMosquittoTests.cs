using System.Runtime.InteropServices;
using Kezekshi.Mqtt.Native;

namespace Kezekshi.Mqtt.Tests.Native;

[TestFixture]
[Category("Unit")]
public sealed class LibMosquittoTests
{
    [Test]
    public void Message_struct_matches_the_x64_layout_of_mosquitto_h()
    {
        // docs/libmosquitto-binding.md §2: offsets 0, 8, 16, 24, 28, 32; size 40.
        Assert.Multiple(() =>
        {
            Assert.That(Marshal.OffsetOf<MosquittoMessage>(nameof(MosquittoMessage.mid)), Is.EqualTo((nint)0));
            Assert.That(Marshal.OffsetOf<MosquittoMessage>(nameof(MosquittoMessage.topic)), Is.EqualTo((nint)8));
            Assert.That(Marshal.OffsetOf<MosquittoMessage>(nameof(MosquittoMessage.payload)), Is.EqualTo((nint)16));
            Assert.That(Marshal.OffsetOf<MosquittoMessage>(nameof(MosquittoMessage.payloadlen)), Is.EqualTo((nint)24));
            Assert.That(Marshal.OffsetOf<MosquittoMessage>(nameof(MosquittoMessage.qos)), Is.EqualTo((nint)28));
            Assert.That(Marshal.OffsetOf<MosquittoMessage>(nameof(MosquittoMessage.retain)), Is.EqualTo((nint)32));
            Assert.That(Marshal.SizeOf<MosquittoMessage>(), Is.EqualTo(40));
        });
    }

    [Test]
    public void The_loaded_library_is_libmosquitto_2_and_explains_its_codes()
    {
        LibMosquitto.lib_version(out var major, out _, out _);
        Assert.That(major, Is.EqualTo(2));
        Assert.That(LibMosquitto.ReasonString(135), Is.EqualTo("Not authorized"));
        Assert.That(LibMosquitto.StrError(LibMosquitto.MOSQ_ERR_NO_CONN), Does.Contain("connect").IgnoreCase);
    }

    [Test]
    public void Invalid_options_are_refused_before_any_native_call()
    {
        Assert.Throws<ArgumentException>(() => _ = new MqttClient(new MqttClientOptions { Host = "h", ClientId = "c", CertFile = "x.crt" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new MqttClient(new MqttClientOptions { Host = "h", ClientId = "c", Port = 0 }));
    }

    [Test]
    public void An_unreadable_CA_file_is_a_non_transient_MqttException()
    {
        var error = Assert.Throws<MqttException>(() => _ = new MqttClient(new MqttClientOptions
        {
            Host = "127.0.0.1", ClientId = "c", CaFile = "/nonexistent/ca.crt",
        }));
        Assert.That(error!.IsTransient, Is.False);
        Assert.That(error.Message, Does.Contain("/nonexistent/ca.crt"));
    }
}
