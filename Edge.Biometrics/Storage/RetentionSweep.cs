using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Index;

namespace Kezekshi.Edge.Biometrics.Storage;

/// <summary>What one retention sweep deleted.</summary>
public sealed record RetentionResult(int TemplatesExpired, int PupilsWhoLeft, IReadOnlyList<DeletionReceipt> Receipts);

/// <summary>
/// Deletes templates nobody needs any more: those unused for <c>UnusedDays</c> days, and every
/// template of a pupil who has left the school. Memory first, then disk with receipts and events.
/// </summary>
/// <remarks>The agent knows who left (its pupils table); it passes them in, since biometrics.db must not depend on edge.db.</remarks>
public sealed class RetentionSweep
{
    private readonly TemplateStore _store;
    private readonly EmbeddingIndex _index;
    private readonly TimeProvider _time;

    public RetentionSweep(TemplateStore store, EmbeddingIndex index, TimeProvider? time = null)
    {
        _store = store;
        _index = index;
        _time = time ?? TimeProvider.System;
    }

    public RetentionResult Run(int unusedDays, IReadOnlyCollection<long> pupilsWhoLeft, string actor = "service")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(unusedDays, 1);
        ArgumentNullException.ThrowIfNull(pupilsWhoLeft);
        var receipts = new List<DeletionReceipt>();
        var stored = _store.PupilsWithTemplates().ToHashSet();
        int left = 0;
        foreach (long pupil in pupilsWhoLeft.Where(stored.Contains))
        {
            _index.RemovePupil(pupil);
            receipts.Add(DeleteInOwnTransaction(pupil, null, "pupil left the school", actor));
            left++;
        }
        var unused = _store.UnusedSince(_time.GetUtcNow().AddDays(-unusedDays));
        int expired = 0;
        foreach (var (pupil, ids) in unused)
        {
            if (pupilsWhoLeft.Contains(pupil))
                continue;
            _index.RemoveTemplates(ids.ToHashSet());
            receipts.Add(DeleteInOwnTransaction(pupil, ids, $"unused for {unusedDays} days", actor));
            expired += ids.Length;
        }
        return new RetentionResult(expired, left, receipts);
    }

    private DeletionReceipt DeleteInOwnTransaction(long pupil, IReadOnlyCollection<long>? ids, string reason, string actor)
    {
        using var connection = _store.Database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        var receipt = _store.Delete(connection, transaction, pupil, ids, reason, actor);
        transaction.Commit();
        return receipt;
    }
}
