namespace Kezekshi.Edge.Agent.Gate;

/// <summary>
/// Whether the fire alarm is active. One flag for the whole agent: when it is set, every gate is
/// held open and no rule is evaluated.
/// </summary>
/// <remarks>
/// The flag is read lock-free on every decision and written by the fire-alarm monitor (or a guard's
/// manual switch). Listeners (the gates) are told at once; they also re-assert the open state
/// periodically so a relay board that rebooted mid-alarm is opened again.
/// </remarks>
public sealed class EmergencyState
{
    private volatile bool _active;

    public bool IsActive => _active;

    public string? Cause { get; private set; }

    /// <summary>Raised when the state changes (true = emergency on).</summary>
    public event Action<bool>? Changed;

    public void Set(bool active, string cause)
    {
        if (_active == active) return;
        Cause = active ? cause : null;
        _active = active;
        Changed?.Invoke(active);
    }
}
