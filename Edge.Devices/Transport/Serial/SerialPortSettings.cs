using System.Collections.Immutable;

namespace Kezekshi.Edge.Devices.Transport.Serial;

/// <summary>Parity bit of each character.</summary>
public enum Parity
{
    /// <summary>No parity bit (the usual 8N1 of card readers and OSDP).</summary>
    None,
    /// <summary>Even parity (Modbus RTU's default 8E1).</summary>
    Even,
    /// <summary>Odd parity.</summary>
    Odd,
}

/// <summary>Stop bits after each character.</summary>
public enum StopBits
{
    /// <summary>One stop bit.</summary>
    One,
    /// <summary>Two stop bits (Modbus RTU without parity uses 8N2).</summary>
    Two,
}

/// <summary>How the transmitter of a half-duplex RS-485 line is switched on and off.</summary>
/// <remarks>
/// An RS-485 transceiver must drive the A/B pair only while we send and release it right after
/// the last stop bit, or the device's reply collides with our own driver. Who flips the
/// driver-enable line differs per adapter; see Transport/Serial/README.md.
/// </remarks>
public enum Rs485Mode
{
    /// <summary>No direction control: RS-232, full-duplex RS-422, or an adapter that switches by itself (most USB-RS485 dongles).</summary>
    Off,
    /// <summary>Use the kernel driver's RS-485 mode if it has one, else toggle RTS ourselves, else <see cref="Off"/>.</summary>
    Auto,
    /// <summary>The kernel driver switches the transmitter (Linux TIOCSRS485; Windows RTS_CONTROL_TOGGLE). Fails if the driver cannot.</summary>
    Kernel,
    /// <summary>We raise RTS, write, wait until the bytes left the UART, then lower RTS. Fails if the port has no RTS line.</summary>
    RtsToggle,
}

/// <summary>
/// How to open one serial port: its name, line settings and RS-485 direction control.
/// Comes from the hardware profile; call <see cref="Validate"/> (or <see cref="GetErrors"/>) before use.
/// </summary>
/// <param name="PortName">
/// The device: <c>/dev/ttyUSB0</c>, preferably the stable <c>/dev/serial/by-id/…</c> link, on Linux;
/// <c>COM3</c> on Windows.
/// </param>
/// <param name="BaudRate">Bits per second; one of <see cref="StandardBaudRates"/>.</param>
/// <param name="DataBits">7 or 8.</param>
/// <param name="Parity">Parity bit.</param>
/// <param name="StopBits">Stop bits.</param>
/// <param name="Rs485Mode">Direction control for half-duplex RS-485.</param>
public sealed record SerialPortSettings(
    string PortName,
    int BaudRate = 9600,
    int DataBits = 8,
    Parity Parity = Parity.None,
    StopBits StopBits = StopBits.One,
    Rs485Mode Rs485Mode = Rs485Mode.Off)
{
    /// <summary>Rates every UART driver we target supports exactly (the termios B-constants and the Win32 CBR_ values).</summary>
    public static ImmutableArray<int> StandardBaudRates { get; } =
        [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600];

    /// <summary>How long RTS is raised before the first byte (RS-485 driver enable settling time); 0 for most transceivers.</summary>
    public TimeSpan RtsDelayBeforeSend { get; init; } = TimeSpan.Zero;

    /// <summary>How long RTS stays raised after the last byte left the UART; 0 for most transceivers.</summary>
    public TimeSpan RtsDelayAfterSend { get; init; } = TimeSpan.Zero;

    /// <summary>Bits per character on the wire: start + data + parity + stop, for <see cref="WireTime"/>.</summary>
    public int BitsPerCharacter => 1 + DataBits + (Parity == Parity.None ? 0 : 1) + (StopBits == StopBits.Two ? 2 : 1);

    /// <summary>Short form for logs, e.g. <c>9600 8N1</c>.</summary>
    public string FrameDescription =>
        $"{BaudRate} {DataBits}{Parity switch { Parity.Even => 'E', Parity.Odd => 'O', _ => 'N' }}{(StopBits == StopBits.Two ? 2 : 1)}";

    /// <summary>Every problem with these settings, each a sentence that says what to change; empty when valid.</summary>
    public IReadOnlyList<string> GetErrors()
    {
        var errors = new List<string>();
        string port = string.IsNullOrWhiteSpace(PortName) ? "(no port name)" : PortName;
        if (string.IsNullOrWhiteSpace(PortName))
            errors.Add("PortName is empty: set it to the serial device, e.g. /dev/serial/by-id/usb-FTDI_… on Linux or COM3 on Windows.");
        if (!StandardBaudRates.Contains(BaudRate))
            errors.Add($"{port}: baud rate {BaudRate} is not a standard rate; use one of {string.Join(", ", StandardBaudRates)} (the device's manual or DIP switches say which).");
        if (DataBits is not (7 or 8))
            errors.Add($"{port}: {DataBits} data bits is not supported; use 8 (or 7 for old readers that send 7E1 ASCII).");
        if (!Enum.IsDefined(Parity))
            errors.Add($"{port}: parity {(int)Parity} is not one of None, Even, Odd.");
        if (!Enum.IsDefined(StopBits))
            errors.Add($"{port}: stop bits {(int)StopBits} is not one of One, Two.");
        if (!Enum.IsDefined(Rs485Mode))
            errors.Add($"{port}: RS-485 mode {(int)Rs485Mode} is not one of Off, Auto, Kernel, RtsToggle.");
        CheckDelay(errors, port, nameof(RtsDelayBeforeSend), RtsDelayBeforeSend);
        CheckDelay(errors, port, nameof(RtsDelayAfterSend), RtsDelayAfterSend);
        return errors;
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem (see <see cref="GetErrors"/>); returns this when valid.</summary>
    public SerialPortSettings Validate()
    {
        var errors = GetErrors();
        if (errors.Count > 0)
            throw new ArgumentException("Invalid serial port settings: " + string.Join(" ", errors));
        return this;
    }

    private static void CheckDelay(List<string> errors, string port, string name, TimeSpan delay)
    {
        // The kernel's serial_rs485 takes whole milliseconds; a second is far beyond any transceiver's need.
        if (delay < TimeSpan.Zero || delay > TimeSpan.FromSeconds(1))
            errors.Add($"{port}: {name} is {delay.TotalMilliseconds} ms; use 0–1000 ms (0 suits most transceivers).");
    }
}
