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
        IEnumerable<GateRules> gates)
    {
        TimeZone = timeZone;
        Credentials = credentials.ToFrozenDictionary(c => c.CardNumber);
        ClassWindows = classWindows.ToFrozenDictionary();
        RoleWindows = roleWindows.ToFrozenDictionary(StringComparer.Ordinal);
        Holidays = holidays.ToFrozenSet();
        Gates = gates.ToFrozenDictionary(g => g.Gate, StringComparer.Ordinal);
    }

    public TimeZoneInfo TimeZone { get; }
    public FrozenDictionary<ulong, Credential> Credentials { get; }
    public FrozenDictionary<long, TimeWindow[]> ClassWindows { get; }
    public FrozenDictionary<string, TimeWindow[]> RoleWindows { get; }
    public FrozenSet<DateOnly> Holidays { get; }
    public FrozenDictionary<string, GateRules> Gates { get; }

    public static AccessSnapshot Empty { get; } = new(TimeZoneInfo.Utc, [], new Dictionary<long, TimeWindow[]>(),
        new Dictionary<string, TimeWindow[]>(), [], []);
}
