using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Devices.Cards;
using Kezekshi.Edge.Devices.Profiles;
using Kezekshi.Edge.Devices.Protocols.LineReader;
using Kezekshi.Edge.Devices.Transport.Serial;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Runtime;

/// <summary>A USB line reader on its own port.</summary>
internal sealed class LineReaderPort
{
    private readonly BusPlan _bus;
    private readonly Func<CardRead, CancellationToken, ValueTask> _onCard;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public LineReaderPort(BusPlan bus, Func<CardRead, CancellationToken, ValueTask> onCard, ILogger logger, TimeProvider time)
    {
        _bus = bus;
        _onCard = onCard;
        _logger = logger;
        _time = time;
        Supervisor = new DeviceSupervisor($"line reader {bus.Devices[0].Name}", bus.Port, logger, time);
    }

    public DeviceSupervisor Supervisor { get; }

    public static LineReaderOptions OptionsFor(LineReaderProfile profile, TimeSpan debounce) => new()
    {
        Prefix = profile.Prefix,
        Terminator = profile.Suffix,
        NumberFormat = profile.NumberFormat == CardNumberFormat.Hex ? LineNumberFormat.Hex : LineNumberFormat.Decimal,
        Wiegand26 = profile.Wiegand26 switch
        {
            Devices.Profiles.Wiegand26Conversion.FromFrame => Devices.Protocols.LineReader.Wiegand26Conversion.FromFrame,
            Devices.Profiles.Wiegand26Conversion.FromEmMarine => Devices.Protocols.LineReader.Wiegand26Conversion.FromEmMarine,
            _ => Devices.Protocols.LineReader.Wiegand26Conversion.None,
        },
        DebounceWindow = debounce,
    };

    public Task RunAsync(CancellationToken cancellationToken) => Supervisor.RunAsync(async (opened, ct) =>
    {
        var device = _bus.Devices[0];
        await using var port = SerialPortFactory.Open(SerialSettings.For(_bus), _logger, _time);
        var options = OptionsFor(device.Profile.LineReader!, TimeSpan.FromMilliseconds(device.Profile.LineReader!.DebounceMs));
        await using var reader = new LineCardReader(port, ownsTransport: false, device.Name, options, _logger, _time);
        opened();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pump = Task.Run(() => CardReadPump.RunAsync(reader.CardReads, _onCard, stop.Token), CancellationToken.None);
        try
        {
            await reader.RunAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await pump.ConfigureAwait(false);
        }
    }, cancellationToken);
}
