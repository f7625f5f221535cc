using Kezekshi.Edge.Devices.Transport.Serial;

namespace Kezekshi.Edge.Devices.Tests.Transport.Serial;

[Category("Unit")]
public class SerialPortSettingsTests
{
    [Test]
    public void Standard_settings_are_valid()
    {
        var settings = new SerialPortSettings("/dev/ttyUSB0", 115200, 8, Parity.Even, StopBits.One, Rs485Mode.Auto);

        Assert.That(settings.GetErrors(), Is.Empty);
        Assert.That(settings.Validate(), Is.SameAs(settings));
    }

    [Test]
    public void A_non_standard_baud_rate_is_rejected_with_the_list_of_standard_rates()
    {
        var settings = new SerialPortSettings("/dev/ttyUSB0", BaudRate: 12345);

        var error = Assert.Throws<ArgumentException>(() => settings.Validate())!;

        Assert.That(error.Message, Does.Contain("/dev/ttyUSB0"));
        Assert.That(error.Message, Does.Contain("baud rate 12345 is not a standard rate"));
        Assert.That(error.Message, Does.Contain("9600"));
        Assert.That(error.Message, Does.Contain("921600"));
    }

    [Test]
    public void Six_data_bits_are_rejected_with_a_message_saying_what_to_use()
    {
        var settings = new SerialPortSettings("COM3", DataBits: 6);

        var error = Assert.Throws<ArgumentException>(() => settings.Validate())!;

        Assert.That(error.Message, Does.Contain("COM3: 6 data bits is not supported; use 8"));
    }

    [Test]
    public void Every_problem_is_reported_at_once()
    {
        var settings = new SerialPortSettings("", BaudRate: 12345, DataBits: 6) { RtsDelayAfterSend = TimeSpan.FromSeconds(-1) };

        var errors = settings.GetErrors();

        Assert.That(errors, Has.Count.EqualTo(4));
        Assert.That(errors[0], Does.Contain("PortName is empty"));
    }

    [Test]
    public void Undefined_enum_values_are_rejected()
    {
        var settings = new SerialPortSettings("/dev/ttyS0", Parity: (Parity)7, StopBits: (StopBits)9, Rs485Mode: (Rs485Mode)5);

        Assert.That(settings.GetErrors(), Has.Count.EqualTo(3));
    }

    [Test]
    public void Bits_per_character_count_start_data_parity_and_stop_bits()
    {
        Assert.That(new SerialPortSettings("p").BitsPerCharacter, Is.EqualTo(10));
        Assert.That(new SerialPortSettings("p", DataBits: 7, Parity: Parity.Odd, StopBits: StopBits.Two).BitsPerCharacter, Is.EqualTo(11));
        Assert.That(new SerialPortSettings("p", 19200, 8, Parity.Even).FrameDescription, Is.EqualTo("19200 8E1"));
    }

    [Test]
    public void The_factory_rejects_invalid_settings_before_touching_any_device()
    {
        var settings = new SerialPortSettings("/dev/this-port-is-never-opened", BaudRate: 12345);

        var error = Assert.Throws<ArgumentException>(() => SerialPortFactory.Open(settings))!;

        Assert.That(error.Message, Does.Contain("not a standard rate"));
    }
}
