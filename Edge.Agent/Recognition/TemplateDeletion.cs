using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;

namespace Kezekshi.Edge.Agent.Recognition;

/// <summary>
/// "Delete this pupil's templates" without touching the consent: e.g. bad enrolment photos, or the pupil asked for
/// a fresh enrolment. The consent forms stay; the pupil can be enrolled again.
/// </summary>
/// <remarks>
/// Same order as a revocation in <see cref="ConsentService"/>: memory first (the next search cannot match the
/// pupil), then one transaction deletes templates, photos and look-alike pairs, writes the deletion receipt,
/// queues the sync event and appends the audit row (all inside the store's delete).
/// </remarks>
public static class TemplateDeletion
{
    public static DeletionReceipt DeleteAll(BiometricsModule module, long pupilId, string operatorName, string reason)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrWhiteSpace(operatorName);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        module.Index.RemovePupil(pupilId);
        using var connection = module.Database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        var receipt = module.Store.Delete(connection, transaction, pupilId, null, reason, operatorName);
        transaction.Commit();
        return receipt;
    }
}
