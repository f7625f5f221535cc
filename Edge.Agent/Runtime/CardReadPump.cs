using System.Threading.Channels;
using Kezekshi.Edge.Devices.Cards;
using Kezekshi.Edge.Devices.Transport;

namespace Kezekshi.Edge.Agent.Runtime;

/// <summary>Hands every card read of one reader session to the gates until the session ends or the agent stops.</summary>
internal static class CardReadPump
{
    public static async Task RunAsync(ChannelReader<CardRead> reads, Func<CardRead, CancellationToken, ValueTask> onCard, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var read in reads.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                await onCard(read, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The port is being reopened or the agent stops.
        }
        catch (DeviceException)
        {
            // The session completed its channel with its failure; its run loop reports it to the supervisor.
        }
    }
}
