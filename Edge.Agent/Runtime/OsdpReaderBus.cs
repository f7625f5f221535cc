using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Devices.Cards;
using Kezekshi.Edge.Devices.Profiles;
using Kezekshi.Edge.Devices.Protocols.Osdp;
using Kezekshi.Edge.Devices.Transport.Serial;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Runtime;

/// <summary>An RS-485 port with OSDP readers: keeps the bus polled and hands card reads to the gates.</summary>
internal sealed class OsdpReaderBus
{
    private readonly BusPlan _bus;
    private readonly Func<CardRead, CancellationToken, ValueTask> _onCard;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly DeviceSupervisor _supervisor;
    private readonly TimeSpan _pollInterval;
    private volatile OsdpBus? _current;

    public OsdpReaderBus(BusPlan bus, Func<CardRead, CancellationToken, ValueTask> onCard, ILogger logger, TimeProvider time, TimeSpan? pollInterval = null)
    {
        _bus = bus;
        _onCard = onCard;
        _logger = logger;
        _time = time;
        _pollInterval = pollInterval ?? TimeSpan.FromMilliseconds(20);
        _supervisor = new DeviceSupervisor($"OSDP bus {bus.Port} ({string.Join(", ", bus.Devices.Select(d => d.Name))})", bus.Port, logger, time);
    }

    public DeviceSupervisor Supervisor => _supervisor;

    public IReadOnlyList<OsdpReaderStatus> Readers => _current?.Readers ?? [];

    public Task RunAsync(CancellationToken cancellationToken) => _supervisor.RunAsync(async (opened, ct) =>
    {
        await using var port = SerialPortFactory.Open(SerialSettings.For(_bus), _logger, _time);
        var options = new OsdpBusOptions
        {
            DeviceReplyTime = TimeSpan.FromMilliseconds(_bus.Line.ReplyTimeMs),
            UseCrc = _bus.Devices[0].Profile.Osdp!.UseCrc,
            PollInterval = _pollInterval,
        };
        await using var osdp = new OsdpBus(port, ownsTransport: false, options, _logger, _time);
        foreach (var device in _bus.Devices) osdp.AddReader((byte)device.Address, device.Name);
        _current = osdp;
        opened();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pump = CardReadPump.RunAsync(osdp.CardReads, _onCard, stop.Token);
        try
        {
            await osdp.RunAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _current = null;
            await stop.CancelAsync().ConfigureAwait(false);
            await pump.ConfigureAwait(false);
        }
    }, cancellationToken);

    /// <summary>The LED and buzzer of the reader at <paramref name="device"/>.</summary>
    public IReaderFeedback FeedbackFor(DevicePlan device) => new Feedback(this, (byte)device.Address, device.Profile.Osdp!);

    private sealed class Feedback(OsdpReaderBus owner, byte address, OsdpReaderProfile profile) : IReaderFeedback
    {
        public async ValueTask ShowAsync(bool granted, CancellationToken cancellationToken)
        {
            var osdp = owner._current;
            if (osdp is null) return; // the bus is down; the supervisor already told IT
            var colour = (OsdpLedColor)(granted ? profile.GrantLedColour : profile.DenyLedColour);
            await osdp.SendLedAsync(address, OsdpLedCommand.Temporary(colour, TimeSpan.FromMilliseconds(profile.GrantLedMs)), cancellationToken).ConfigureAwait(false);
            byte beeps = (byte)(granted ? 1 : profile.DenyBeeps);
            if (beeps > 0) await osdp.SendBuzzerAsync(address, OsdpBuzzerCommand.Beep(beeps), cancellationToken).ConfigureAwait(false);
        }
    }
}
