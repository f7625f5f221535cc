using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Devices.Profiles;

namespace Kezekshi.Edge.Agent.Runtime;

/// <summary>
/// Watches the fire-alarm contact and sets <see cref="EmergencyState"/>. A normally-closed loop
/// reads as alarm when it opens, so a cut wire frees the gates too; an input module that stops
/// answering is treated as an alarm unless the profile says otherwise (fail safe).
/// </summary>
internal sealed class FireAlarmMonitor(FireAlarmProfile profile, int inputChannel, EmergencyState emergency, TimeProvider time)
{
    private readonly long _debounceTicks = (long)(profile.DebounceMs / 1000.0 * time.TimestampFrequency);
    private bool? _candidate;
    private long _candidateSince;

    /// <summary>Called with every sample of the input module.</summary>
    public void OnSample(bool[] inputs, bool online)
    {
        bool alarm;
        string cause;
        if (!online)
        {
            if (profile.OnInputModuleOffline == InputLossBehaviour.KeepLastState) return;
            alarm = true;
            cause = "the input module with the fire-alarm contact stopped answering (fail safe)";
        }
        else
        {
            bool closed = inputs[inputChannel - 1];
            alarm = profile.Contact == ContactType.NormallyClosed ? !closed : closed;
            cause = "fire-alarm contact";
        }

        long now = time.GetTimestamp();
        if (_candidate != alarm)
        {
            _candidate = alarm;
            _candidateSince = now;
        }
        // An alarm caused by losing the module is believed at once; a contact change after the debounce time.
        if (!online || now - _candidateSince >= _debounceTicks)
            emergency.Set(alarm, cause);
    }
}
