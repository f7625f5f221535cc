namespace Kezekshi.Edge.Agent.Gate;

/// <summary>
/// The gate's rules as one pure function: card, gate, direction, time → grant or deny with a reason.
/// No I/O, no locks, no allocation on the common path; the inputs are an immutable snapshot and the
/// presence table.
/// </summary>
/// <remarks>
/// Order of checks: card status first (a lost card is reported as lost even out of hours, so the
/// guard can act), then the holder, then calendar and time windows, then direction and anti-passback.
/// Emergency mode is not here: it bypasses the policy entirely (see <see cref="GateController"/>).
/// </remarks>
public static class GatePolicy
{
    public static GateDecision Decide(AccessSnapshot snapshot, PresenceTracker presence, string gate, Direction direction, ulong cardNumber, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(presence);
        if (!snapshot.Credentials.TryGetValue(cardNumber, out var credential))
            return GateDecision.Deny(DecisionReason.UnknownCard);
        switch (credential.Status)
        {
            case CredentialStatus.Blocked: return GateDecision.Deny(DecisionReason.CardBlocked, credential);
            case CredentialStatus.Lost: return GateDecision.Deny(DecisionReason.CardLost, credential);
        }
        return DecideFor(snapshot, presence, gate, direction, credential.Holder, credential, now);
    }

    /// <summary>
    /// The same rules for a pupil recognised by face: found by pupil ID in the snapshot, refused while the school
    /// has blocked the pupil's card (a face must not get round a block), then calendar, time windows, direction
    /// and anti-passback exactly as for the card. A lost card does not stop the face: the card is lost, not the pupil.
    /// </summary>
    public static GateDecision DecideFace(AccessSnapshot snapshot, PresenceTracker presence, string gate, Direction direction, long pupilId, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(presence);
        if (!snapshot.Pupils.TryGetValue(pupilId, out var pupil))
            return new GateDecision(false, DecisionReason.UnknownPupil, null);
        if (snapshot.BlockedPupils.Contains(pupilId))
            return new GateDecision(false, DecisionReason.CardBlocked, null, pupil);
        return DecideFor(snapshot, presence, gate, direction, pupil, null, now);
    }

    private static GateDecision DecideFor(AccessSnapshot snapshot, PresenceTracker presence, string gate, Direction direction, Holder holder, Credential? credential, DateTimeOffset now)
    {
        var faceHolder = credential is null ? holder : null;
        GateDecision Deny(DecisionReason reason, Credential? c) => new(false, reason, c, faceHolder);
        GateDecision Grant(DecisionReason reason, Credential? c) => new(true, reason, c, faceHolder);
        if (!holder.Active) return Deny(DecisionReason.HolderInactive, credential);

        var local = TimeZoneInfo.ConvertTime(now, snapshot.TimeZone);
        var today = DateOnly.FromDateTime(local.DateTime);
        var time = TimeOnly.FromDateTime(local.DateTime);
        int weekday = local.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)local.DayOfWeek;

        switch (holder.Kind)
        {
            case HolderKind.Visitor:
                if (holder.ValidFrom is { } from && now < from) return Deny(DecisionReason.VisitorPassNotYetValid, credential);
                if (holder.ValidUntil is { } until && now >= until) return Deny(DecisionReason.VisitorPassExpired, credential);
                break;
            case HolderKind.Pupil:
                // Pupils may always leave: a closed exit would keep a child in, which no rule should do.
                if (direction == Direction.Entry)
                {
                    if (snapshot.Holidays.Contains(today)) return Deny(DecisionReason.Holiday, credential);
                    if (holder.ClassId is { } classId && snapshot.ClassWindows.TryGetValue(classId, out var windows) && !InAny(windows, weekday, time))
                        return Deny(DecisionReason.OutsideTimeWindow, credential);
                }
                break;
            case HolderKind.Staff:
                if (direction == Direction.Entry && holder.Role is { } role && snapshot.RoleWindows.TryGetValue(role, out var roleWindows) && !InAny(roleWindows, weekday, time))
                    return Deny(DecisionReason.OutsideTimeWindow, credential);
                break;
        }

        snapshot.Gates.TryGetValue(gate, out var rules);
        if (rules is not null)
        {
            var mode = rules.ModeAt(weekday, time);
            if ((mode == DirectionMode.EntryOnly && direction == Direction.Exit) || (mode == DirectionMode.ExitOnly && direction == Direction.Entry))
                return Deny(DecisionReason.DirectionNotAllowed, credential);
        }

        var antiPassback = rules?.AntiPassback ?? AntiPassbackMode.Off;
        if (antiPassback != AntiPassbackMode.Off && presence.IsInside(holder.Kind, holder.Id) is bool inside
            && inside == (direction == Direction.Entry))
        {
            return antiPassback == AntiPassbackMode.Hard
                ? Deny(DecisionReason.AntiPassback, credential)
                : Grant(DecisionReason.GrantedDespitePassback, credential);
        }
        return Grant(DecisionReason.Granted, credential);
    }

    private static bool InAny(TimeWindow[] windows, int weekday, TimeOnly time)
    {
        foreach (var window in windows)
            if (window.Contains(weekday, time)) return true;
        return false;
    }
}
