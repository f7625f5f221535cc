using Kezekshi.Edge.Agent.Ledgers;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Biometrics.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Sync;

/// <summary>
/// Moves the biometric store's queued events (a pupil's templates deleted: revocation, objection, expiry, leaving) into
/// the agent's outbox as <c>template.purged</c>, so the centre learns of every deletion. The biometric store queues them
/// in its own file (written with the deletion); this relay hands them over at least once: a crash between the outbox
/// commit and marking them sent repeats them, and the centre keys them by the deletion receipt.
/// </summary>
public sealed class BiometricEventsRelay(OutgoingEvents events, EdgeDatabase database, TimeProvider? time = null)
{
    public const string EventType = "template.purged";

    /// <summary>Relays up to one page of queued events; returns how many.</summary>
    public int RelayOnce()
    {
        var batch = events.ReadAfter(0, 100);
        if (batch.Count == 0) return 0;
        using (var connection = database.Connect())
        using (var transaction = connection.BeginTransaction())
        {
            foreach (var e in batch) LedgerOutbox.Append(connection, transaction, EventType, 1, e.Payload, e.CreatedAt);
            transaction.Commit();
        }
        events.MarkSent(batch[^1].Seq, (time ?? TimeProvider.System).GetUtcNow());
        return batch.Count;
    }
}

/// <summary>Runs the relay every two seconds while biometrics are enabled (offline too: the outbox keeps them).</summary>
public sealed class BiometricEventsRelayService(BiometricEventsRelay relay, ILogger<BiometricEventsRelayService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    while (relay.RelayOnce() > 0) { }
                }
                catch (Exception e) when (e is StoreException or Microsoft.Data.Sqlite.SqliteException or IOException)
                {
                    logger.LogWarning("Biometric deletion events wait in biometrics.db: {Problem}. They are relayed to the outbox when the store answers.", e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
