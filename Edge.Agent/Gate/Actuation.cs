namespace Kezekshi.Edge.Agent.Gate;

/// <summary>The turnstile's arm: relays that free a direction and the sensors that see someone pass.</summary>
/// <remarks>Implemented over a Modbus relay board and input module; a test double is never needed because the
/// simulators run the real protocol (see the end-to-end tests).</remarks>
public interface ITurnstile
{
    /// <summary>Frees <paramref name="direction"/> for one pass: closes the relay, opens it after the profile's pulse width.
    /// Returns when the relay board acknowledged closing the relay.</summary>
    ValueTask PulseAsync(Direction direction, CancellationToken cancellationToken);

    /// <summary>Holds the gate open (emergency) or releases it. Must be safe to call repeatedly.</summary>
    ValueTask HoldOpenAsync(bool open, CancellationToken cancellationToken);

    /// <summary>How long a person has to pass after the arm is freed.</summary>
    TimeSpan PassTime { get; }
}

/// <summary>What the person at the reader sees and hears: green/red LED, beeps.</summary>
public interface IReaderFeedback
{
    ValueTask ShowAsync(bool granted, CancellationToken cancellationToken);
}

/// <summary>A reader with no LED or buzzer (most USB line readers).</summary>
public sealed class NoFeedback : IReaderFeedback
{
    public static NoFeedback Instance { get; } = new();
    public ValueTask ShowAsync(bool granted, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
