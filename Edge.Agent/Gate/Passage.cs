namespace Kezekshi.Edge.Agent.Gate;

public enum PassageOutcome { Passed, NotPassed, Denied, Unknown, FreePass }

/// <summary>What the person presented: a card, their face, or nothing (a guard let them through).</summary>
public enum PassageCredential { Card, Face, None }

/// <summary>One person at one gate: the decision, and (for a grant) whether they really went through.</summary>
public sealed class Passage
{
    public required string Uid { get; init; }
    public required string Gate { get; init; }
    public required Direction Direction { get; init; }
    public ulong? CardNumber { get; init; }
    /// <summary>Card, face or none (manual pass). Stored as <c>passages.credential</c>.</summary>
    public PassageCredential Credential { get; init; } = PassageCredential.Card;
    /// <summary>The camera that saw the face (face passages only).</summary>
    public string? CameraId { get; init; }
    public Holder? Holder { get; init; }
    public required GateDecision Decision { get; init; }
    public required DateTimeOffset DecidedAt { get; init; }
    public long? ManualByStaffId { get; init; }
    public string? Note { get; set; }
    /// <summary>Software time from the card frame being complete to the relay command being acknowledged, in µs.</summary>
    public long? LatencyMicroseconds { get; set; }
    public PassageOutcome Outcome { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    /// <summary>True once written to the actuation journal (so the recorder can release it).</summary>
    public bool Journaled { get; set; }

    public static string OutcomeCode(PassageOutcome outcome) => outcome switch
    {
        PassageOutcome.Passed => "passed",
        PassageOutcome.NotPassed => "not-passed",
        PassageOutcome.Denied => "denied",
        PassageOutcome.FreePass => "free-pass",
        _ => "unknown",
    };

    /// <summary>"card", "face", or null for a manual pass (the store's and the board's spelling).</summary>
    public static string? CredentialCode(PassageCredential credential) => credential switch
    {
        PassageCredential.Card => "card",
        PassageCredential.Face => "face",
        _ => null,
    };

    public static string DirectionCode(Direction direction) => direction == Direction.Entry ? "entry" : "exit";
}
