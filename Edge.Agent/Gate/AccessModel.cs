using System.Collections.Frozen;

namespace Kezekshi.Edge.Agent.Gate;

public enum HolderKind { Pupil, Staff, Visitor }

public enum CredentialStatus { Active, Blocked, Lost }

public enum AntiPassbackMode { Off, Soft, Hard }

public enum Direction { Entry, Exit }

public enum DirectionMode { Both, EntryOnly, ExitOnly }

/// <summary>A person who can hold a card: pupil, staff member or visitor.</summary>
public sealed record Holder(HolderKind Kind, long Id, string FullName, bool Active, long? ClassId, string? Role,
    DateTimeOffset? ValidFrom = null, DateTimeOffset? ValidUntil = null);

/// <summary>A card and whom it belongs to.</summary>
public sealed record Credential(ulong CardNumber, CredentialStatus Status, Holder Holder);

/// <summary>A time window on one weekday (ISO: Monday = 1), in school-local time.</summary>
public readonly record struct TimeWindow(int IsoWeekday, TimeOnly From, TimeOnly Until)
{
    public bool Contains(int isoWeekday, TimeOnly time) => isoWeekday == IsoWeekday && time >= From && time < Until;
}

/// <summary>A gate's rules that come from the store: anti-passback and direction by time of day.</summary>
public sealed record GateRules(string Gate, AntiPassbackMode AntiPassback, IReadOnlyList<(TimeWindow Window, DirectionMode Mode)> DirectionSchedule)
{
    public DirectionMode ModeAt(int isoWeekday, TimeOnly time)
    {
        foreach (var (window, mode) in DirectionSchedule)
            if (window.Contains(isoWeekday, time)) return mode;
        return DirectionMode.Both;
    }
}

/// <summary>
/// Everything the gate decision reads, as one immutable snapshot in memory. Changes (a new card,
/// a blocked card) build a new snapshot that is swapped in atomically; a decision never touches
/// the disk or waits for a lock.
/// </summary>
public sealed class AccessSnapshot
{
    public AccessSnapshot(
        TimeZoneInfo timeZone,
        IEnumerable<Credential> credentials,
        IReadOnlyDictionary<long, TimeWindow[]> classWindows,
        IReadOnlyDictionary<string, TimeWindow[]> roleWindows,
        IEnumerable<DateOnly> holidays,
        IEnumerable<GateRules> gates,
        IEnumerable<Holder>? pupils = null)
    {
        TimeZone = timeZone;
        Credentials = credentials.ToFrozenDictionary(c => c.CardNumber);
        ClassWindows = classWindows.ToFrozenDictionary();
        RoleWindows = roleWindows.ToFrozenDictionary(StringComparer.Ordinal);
        Holidays = holidays.ToFrozenSet();
        Gates = gates.ToFrozenDictionary(g => g.Gate, StringComparer.Ordinal);
        // Pupils without a card can still be recognised by face; without the roster, the card holders are all we know.
        var roster = pupils ?? Credentials.Values.Where(c => c.Holder.Kind == HolderKind.Pupil).Select(c => c.Holder);
        Pupils = roster.Where(h => h.Kind == HolderKind.Pupil).DistinctBy(h => h.Id).ToFrozenDictionary(h => h.Id);
        BlockedPupils = Credentials.Values.Where(c => c.Holder.Kind == HolderKind.Pupil && c.Status == CredentialStatus.Blocked)
            .Select(c => c.Holder.Id).ToFrozenSet();
    }

    public TimeZoneInfo TimeZone { get; }
    public FrozenDictionary<ulong, Credential> Credentials { get; }
    public FrozenDictionary<long, TimeWindow[]> ClassWindows { get; }
    public FrozenDictionary<string, TimeWindow[]> RoleWindows { get; }
    public FrozenSet<DateOnly> Holidays { get; }
    public FrozenDictionary<string, GateRules> Gates { get; }

    /// <summary>Every pupil by ID, with or without a card: a face decision finds its pupil here.</summary>
    public FrozenDictionary<long, Holder> Pupils { get; }

    /// <summary>Pupils with a blocked card: the school stopped them at the gate, and a face must not get round that.</summary>
    public FrozenSet<long> BlockedPupils { get; }

    public static AccessSnapshot Empty { get; } = new(TimeZoneInfo.Utc, [], new Dictionary<long, TimeWindow[]>(),
        new Dictionary<string, TimeWindow[]>(), [], []);
}
