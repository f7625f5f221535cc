namespace Kezekshi.Edge.Biometrics.Index;

/// <summary>What an identify call concluded.</summary>
public enum IdentifyOutcome
{
    /// <summary>Nobody passes the threshold with the margin, or nobody is enrolled for this purpose: treat as a stranger.</summary>
    Unknown,

    /// <summary>One pupil passes the threshold and beats every other pupil by the margin.</summary>
    Accepted,

    /// <summary>The best pupil has an enrolled look-alike (twin, sibling): the face alone must not decide; ask for a card or PIN.</summary>
    SecondFactorRequired,
}

/// <summary>One candidate pupil with its best template and score.</summary>
public readonly record struct Candidate(long PupilId, long TemplateId, float Score);

/// <summary>
/// The result of one identify call. <see cref="PupilId"/> is set for <see cref="IdentifyOutcome.Accepted"/>
/// and <see cref="IdentifyOutcome.SecondFactorRequired"/> (who the face looks like, to check against the card).
/// </summary>
public sealed record IdentifyDecision(
    IdentifyOutcome Outcome,
    long? PupilId,
    float BestScore,
    float RunnerUpScore,
    IReadOnlyList<Candidate> Candidates,
    string Reason)
{
    public bool IsAccepted => Outcome == IdentifyOutcome.Accepted;
}
