using Kezekshi.Edge.Devices.Transport.Serial;

namespace Kezekshi.Edge.Devices.Tests.Transport.Serial;

/// <summary>Struct layouts must match the C headers byte for byte; a wrong size corrupts memory silently.</summary>
[Category("Unit")]
public class InteropLayoutTests
{
    [Test]
    public unsafe void Glibc_termios_is_60_bytes()
    {
        Assert.That(sizeof(Termios), Is.EqualTo(60));
        Termios t = default;
        Assert.That((int)((nint)(&t.c_ispeed) - (nint)(&t)), Is.EqualTo(52));
    }

    [Test]
    public unsafe void Serial_rs485_is_32_bytes()
    {
        Assert.That(sizeof(SerialRs485), Is.EqualTo(32));
    }

    [Test]
    public unsafe void Win32_DCB_is_28_bytes_with_byte_fields_after_the_bitfield_and_three_words()
    {
        Assert.That(sizeof(Dcb), Is.EqualTo(28));
        Dcb d = default;
        Assert.That((int)((nint)(&d.ByteSize) - (nint)(&d)), Is.EqualTo(18));
        Assert.That((int)((nint)(&d.wReserved1) - (nint)(&d)), Is.EqualTo(26));
    }

    [Test]
    public void DCB_flags_for_8E2_with_RTS_toggle_set_the_documented_bits()
    {
        Dcb dcb = default;
        DcbFlags.Apply(ref dcb, new SerialPortSettings("COM3", 19200, 8, Parity.Even, StopBits.Two), DcbFlags.RTS_CONTROL_TOGGLE);

        // fBinary (bit 0), fDtrControl = ENABLE (bits 4–5 = 01), fRtsControl = TOGGLE (bits 12–13 = 11).
        Assert.That(dcb.Flags, Is.EqualTo(0x1u | (1u << 4) | (3u << 12)));
        Assert.That(dcb.BaudRate, Is.EqualTo(19200u));
        Assert.That(dcb.ByteSize, Is.EqualTo(8));
        Assert.That(dcb.Parity, Is.EqualTo(Kernel32.EVENPARITY));
        Assert.That(dcb.StopBits, Is.EqualTo(Kernel32.TWOSTOPBITS));
        Assert.That(DcbFlags.Get(dcb.Flags, DcbFlags.RtsControl, 2), Is.EqualTo(DcbFlags.RTS_CONTROL_TOGGLE));
    }

    [Test]
    [Platform("Linux")]
    public void Every_standard_baud_rate_round_trips_through_this_glibcs_speed_encoding()
    {
        foreach (int baud in SerialPortSettings.StandardBaudRates)
            Assert.That(TermiosSpeed.Decode(TermiosSpeed.Encode(baud)), Is.EqualTo(baud));
    }
}
