using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Devices.Profiles;
using Kezekshi.Edge.Devices.Transport.Serial;

namespace Kezekshi.Edge.Agent.Runtime;

/// <summary>Serial port settings from a hardware profile's serial line: the one place this mapping lives.</summary>
internal static class SerialSettings
{
    /// <summary>The port settings of a bus, from its devices' profile.</summary>
    public static SerialPortSettings For(BusPlan bus) => For(bus.Port, bus.Line, bus.BaudRate);

    /// <summary>
    /// The port settings for <paramref name="line"/> at <paramref name="baudRate"/>. An RS-485 line gets
    /// <see cref="Rs485Mode.Auto"/> (kernel mode, else RTS toggle, else an adapter that switches by itself).
    /// </summary>
    public static SerialPortSettings For(string port, SerialLineProfile line, int baudRate) => new(
        port,
        baudRate,
        line.DataBits,
        line.Parity switch { SerialParity.Even => Parity.Even, SerialParity.Odd => Parity.Odd, _ => Parity.None },
        line.StopBits == 2 ? StopBits.Two : StopBits.One,
        line.Rs485 ? Rs485Mode.Auto : Rs485Mode.Off);
}
