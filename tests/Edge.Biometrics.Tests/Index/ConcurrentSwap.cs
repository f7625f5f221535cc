using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Index;

namespace Kezekshi.Edge.Biometrics.Tests.Index;

/// <summary>Searches on one thread while another enrols and then deletes <c>extra</c> pupils: how many searches ran, and how many saw a wrong pupil.</summary>
internal static class ConcurrentSwap
{
    public static (int Wrong, int Searches) Run(EmbeddingIndex index, Func<long?> identify, long expectedPupil, IReadOnlyList<IndexedTemplate> extra)
    {
        using var stop = new CancellationTokenSource();
        int wrong = 0, searches = 0;
        var searcher = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (identify() != expectedPupil)
                    Interlocked.Increment(ref wrong);
                Interlocked.Increment(ref searches);
            }
        });
        foreach (var t in extra)
        {
            index.Add([t]);
            index.SetPurposes(t.PupilId, BiometricPurpose.Access);
        }
        foreach (var t in extra)
            index.RemovePupil(t.PupilId);
        stop.Cancel();
        searcher.Wait();
        return (wrong, searches);
    }
}
