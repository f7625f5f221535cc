using System.Collections.Concurrent;

namespace Kezekshi.Edge.Agent.Web.Security;

/// <summary>
/// Counts wrong passwords per client address in memory and locks an address out after too many within the
/// lock-out window (the per-account lock-out is stored with the account, see <see cref="AccountStore.RecordFailure"/>).
/// </summary>
/// <remarks>
/// Per address as well as per account: one browser trying many account names is stopped as well as many
/// browsers trying one account. An address lock is kept in memory only: a restart clears it, which is
/// acceptable because each guess still costs a PBKDF2 hash and the per-account locks survive.
/// </remarks>
public sealed class LoginThrottle(int maxFailures, TimeSpan window, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, Entry> _byAddress = new(StringComparer.Ordinal);

    /// <summary>When the address may try again, if it is locked out now.</summary>
    public DateTimeOffset? LockedUntil(string address)
    {
        if (!_byAddress.TryGetValue(address, out var entry)) return null;
        lock (entry) return entry.LockedUntil is { } until && until > _time.GetUtcNow() ? until : null;
    }

    /// <summary>Counts a failure; returns the lock end if the address is now locked.</summary>
    public DateTimeOffset? RecordFailure(string address)
    {
        var now = _time.GetUtcNow();
        var entry = _byAddress.GetOrAdd(address, _ => new Entry());
        lock (entry)
        {
            while (entry.Failures.Count > 0 && entry.Failures.Peek() <= now - window) entry.Failures.Dequeue();
            entry.Failures.Enqueue(now);
            if (entry.Failures.Count >= maxFailures)
            {
                entry.LockedUntil = now + window;
                entry.Failures.Clear();
            }
            return entry.LockedUntil is { } until && until > now ? until : null;
        }
    }

    public void RecordSuccess(string address)
    {
        if (_byAddress.TryGetValue(address, out var entry)) lock (entry) entry.Failures.Clear();
    }

    private sealed class Entry
    {
        public Queue<DateTimeOffset> Failures { get; } = new();
        public DateTimeOffset? LockedUntil { get; set; }
    }
}
