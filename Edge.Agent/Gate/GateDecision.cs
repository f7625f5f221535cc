namespace Kezekshi.Edge.Agent.Gate;

/// <summary>Why a gate opened or stayed closed. The names are what the log, the board and the centre show.</summary>
public enum DecisionReason
{
    Granted,
    /// <summary>Granted, but the person was already recorded on this side (soft anti-passback).</summary>
    GrantedDespitePassback,
    /// <summary>Fire alarm: every gate is free, no card is checked.</summary>
    Emergency,
    /// <summary>A guard let the person through by hand.</summary>
    ManualPass,
    UnknownCard,
    CardBlocked,
    CardLost,
    HolderInactive,
    OutsideTimeWindow,
    Holiday,
    VisitorPassExpired,
    VisitorPassNotYetValid,
    AntiPassback,
    DirectionNotAllowed,
    /// <summary>The decision itself failed; the gate stays closed (outside an emergency) and IT is told.</summary>
    InternalError,
}

/// <summary>The outcome of the policy for one card at one reader.</summary>
public readonly record struct GateDecision(bool Granted, DecisionReason Reason, Credential? Credential)
{
    public static GateDecision Deny(DecisionReason reason, Credential? credential = null) => new(false, reason, credential);
    public static GateDecision Grant(DecisionReason reason, Credential credential) => new(true, reason, credential);

    public static string ReasonCode(DecisionReason reason) => reason switch
    {
        DecisionReason.Granted => "granted",
        DecisionReason.GrantedDespitePassback => "granted-passback-warning",
        DecisionReason.Emergency => "emergency-free-pass",
        DecisionReason.ManualPass => "manual-pass",
        DecisionReason.UnknownCard => "unknown-card",
        DecisionReason.CardBlocked => "card-blocked",
        DecisionReason.CardLost => "card-lost",
        DecisionReason.HolderInactive => "holder-inactive",
        DecisionReason.OutsideTimeWindow => "outside-time-window",
        DecisionReason.Holiday => "holiday",
        DecisionReason.VisitorPassExpired => "visitor-pass-expired",
        DecisionReason.VisitorPassNotYetValid => "visitor-pass-not-yet-valid",
        DecisionReason.AntiPassback => "anti-passback",
        DecisionReason.DirectionNotAllowed => "direction-not-allowed",
        _ => "internal-error",
    };
}
