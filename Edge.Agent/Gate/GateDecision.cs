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
    /// <summary>A face matched an enrolled pupil who is not (or no longer) in the school's roster.</summary>
    UnknownPupil,
    /// <summary>The face matched a pupil with an enrolled look-alike: the face alone does not open; the card does.</summary>
    SecondFactorRequired,
}

/// <summary>The outcome of the policy for one card at one reader, or for one recognised face at one camera.</summary>
/// <param name="Credential">The card presented (null for a face, a manual pass or an unknown card).</param>
/// <param name="FaceHolder">The pupil a face decision is about (null for cards: their holder is the card's).</param>
public readonly record struct GateDecision(bool Granted, DecisionReason Reason, Credential? Credential, Holder? FaceHolder = null)
{
    public static GateDecision Deny(DecisionReason reason, Credential? credential = null) => new(false, reason, credential);
    public static GateDecision Grant(DecisionReason reason, Credential credential) => new(true, reason, credential);

    /// <summary>Whom the decision is about: the card's holder or the recognised pupil.</summary>
    public Holder? Holder => Credential?.Holder ?? FaceHolder;

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
        DecisionReason.UnknownPupil => "unknown-pupil",
        DecisionReason.SecondFactorRequired => "second-factor-required",
        _ => "internal-error",
    };
}
