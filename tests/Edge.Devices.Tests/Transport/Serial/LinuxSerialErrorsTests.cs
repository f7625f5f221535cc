using Kezekshi.Edge.Devices.Transport.Serial;

namespace Kezekshi.Edge.Devices.Tests.Transport.Serial;

/// <summary>
/// The errno → message mapping, for the cases a pty cannot produce while the tests run as root
/// (permission denied, a device node with no hardware behind it).
/// </summary>
[Category("Unit")]
public class LinuxSerialErrorsTests
{
    [Test]
    public void Permission_denied_tells_IT_to_add_the_service_user_to_dialout()
    {
        var error = LinuxSerialErrors.Open("/dev/ttyUSB0", Libc.EACCES);

        Assert.That(error.Message, Does.Contain("Serial port /dev/ttyUSB0: permission denied"));
        Assert.That(error.Message, Does.Contain("sudo usermod -aG dialout <user>"));
        Assert.That(error.IsTransient, Is.False);
        Assert.That(error.Errno, Is.EqualTo(Libc.EACCES));
    }

    [Test]
    public void Busy_tells_IT_how_to_find_the_other_program()
    {
        var error = LinuxSerialErrors.Open("/dev/ttyUSB1", Libc.EBUSY);

        Assert.That(error.Message, Does.Contain("/dev/ttyUSB1 is in use by another program: find it with `fuser /dev/ttyUSB1`"));
        Assert.That(error.IsTransient, Is.True);
    }

    [Test]
    public void A_device_node_without_hardware_is_transient_and_points_at_dmesg()
    {
        var error = LinuxSerialErrors.Open("/dev/ttyS4", Libc.ENXIO);

        Assert.That(error.Message, Does.Contain("/dev/ttyS4 has no device behind it"));
        Assert.That(error.Message, Does.Contain("dmesg"));
        Assert.That(error.IsTransient, Is.True);
    }

    [Test]
    public void An_unexpected_errno_still_names_the_port_and_the_system_error()
    {
        var error = LinuxSerialErrors.Open("/dev/ttyACM0", 40); // ELOOP

        Assert.That(error.Message, Does.StartWith("Serial port /dev/ttyACM0 could not be opened: "));
        Assert.That(error.Message, Does.Contain("(errno 40)"));
    }

    [Test]
    public void A_hang_up_says_the_adapter_was_unplugged_and_the_port_must_be_reopened()
    {
        var error = LinuxSerialErrors.Broken("/dev/ttyUSB0", 0, "read");

        Assert.That(error.Message, Does.Contain("/dev/ttyUSB0 was disconnected"));
        Assert.That(error.Message, Does.Contain("must be reopened"));
        Assert.That(error.IsTransient, Is.True);
    }
}
