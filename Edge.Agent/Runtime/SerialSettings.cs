using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Devices.Profiles;
using Kezekshi.Edge.Devices.Transport.Serial;

namespace Kezekshi.Edge.Agent.Runtime;

internal static class SerialSettings
{
    /// <summary>The port settings of a bus, from its devices' profile.</summary>
    public static SerialPortSettings For(BusPlan bus) => new(
        bus.Port,
        bus.BaudRate,
        bus.Line.DataBits,
        bus.Line.Parity switch { SerialParity.Even => Parity.Even, SerialParity.Odd => Parity.Odd, _ => Parity.None },
        bus.Line.StopBits == 2 ? StopBits.Two : StopBits.One,
        bus.Line.Rs485 ? Rs485Mode.Auto : Rs485Mode.Off);
}
