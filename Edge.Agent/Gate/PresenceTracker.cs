using System.Collections.Concurrent;

namespace Kezekshi.Edge.Agent.Gate;

/// <summary>
/// Who is inside the school, for anti-passback and the evacuation roll-call. Updated when a
/// passage is completed (the pass sensor fired), not when a card is merely accepted.
/// </summary>
public sealed class PresenceTracker
{
    private readonly ConcurrentDictionary<(HolderKind, long), bool> _inside = new();

    public bool? IsInside(HolderKind kind, long id) => _inside.TryGetValue((kind, id), out bool inside) ? inside : null;

    public void Record(HolderKind kind, long id, Direction direction) => _inside[(kind, id)] = direction == Direction.Entry;

    public int CountInside() => _inside.Count(p => p.Value);

    public IEnumerable<(HolderKind Kind, long Id)> Inside() => _inside.Where(p => p.Value).Select(p => p.Key);
}
