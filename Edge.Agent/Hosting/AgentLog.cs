using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent;

/// <summary>Source-generated log messages of the agent, with central event IDs (2000–2999). Each says what to do.</summary>
internal static partial class AgentLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "Could not store {Count} passage(s), retrying every second; they are kept in memory and in the actuation journal: {Problem}")]
    public static partial void PassageWriteFailed(ILogger logger, int count, string problem);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Recovered {Count} actuation(s) from the journal {Path} after an unclean stop; they are stored with outcome 'unknown'.")]
    public static partial void JournalRecovered(ILogger logger, int count, string path);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Cannot write the actuation journal {Path}: {Problem}. Gates keep working and passages are still stored by the recorder, but a crash now could lose the record of an arm already freed: free disk space (df -h).")]
    public static partial void JournalWriteFailed(ILogger logger, string path, string problem);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Error, Message = "{Gate}: handling a card read failed; the gate goes on with the next one. This is a bug; report it with this log.")]
    public static partial void GateLoopError(ILogger logger, string gate, Exception exception);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "{Gate} {Direction}: card {Card} {Decision} ({Reason}) {Holder} in {LatencyUs} µs")]
    public static partial void Decision(ILogger logger, string gate, string direction, ulong card, string decision, string reason, string holder, long latencyUs);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Error, Message = "{Gate}: the gate decision failed and the gate stayed closed (outside an emergency). This is a bug; report it with this log.")]
    public static partial void DecisionFailed(ILogger logger, string gate, Exception exception);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Error, Message = "{Gate}: the relay command failed: {Problem}. The pupil may have to tap again; check the relay board.")]
    public static partial void RelayFailed(ILogger logger, string gate, string problem);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Critical, Message = "FIRE ALARM: emergency mode on ({Cause}). Every gate is held open; no card is checked until the alarm clears.")]
    public static partial void EmergencyOn(ILogger logger, string cause);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Warning, Message = "Fire alarm cleared: gates return to normal operation.")]
    public static partial void EmergencyOff(ILogger logger);

    [LoggerMessage(EventId = 2022, Level = LogLevel.Error, Message = "{Gate}: could not hold the gate open for the emergency ({Problem}); retrying every 500 ms. Check the relay board now; open the gate by hand if needed.")]
    public static partial void EmergencyHoldFailed(ILogger logger, string gate, string problem);

    [LoggerMessage(EventId = 2030, Level = LogLevel.Warning, Message = "{Device} failed: {Problem}. Reopening in {DelaySeconds} s; the other gates keep working.")]
    public static partial void DeviceFailed(ILogger logger, string device, string problem, double delaySeconds);

    [LoggerMessage(EventId = 2031, Level = LogLevel.Information, Message = "{Device} opened on {Port}.")]
    public static partial void DeviceOpened(ILogger logger, string device, string port);

    [LoggerMessage(EventId = 2032, Level = LogLevel.Warning, Message = "Pass sensors of {Gates} are read from the level of input module {Module} ({Model}), which has no pulse counters: a pulse shorter than the time between two polls ({PollMs} ms, more when the PC is busy) is missed and the passage stored as not passed. Use an input module with per-input counters (\"counterTable\" in its profile); see docs/operations.md.")]
    public static partial void PassSensorsOnLevel(ILogger logger, string gates, string module, string model, int pollMs);

    [LoggerMessage(EventId = 2033, Level = LogLevel.Warning, Message = "{Module}: the pass counter of input {Input} went from {Before} to {Now}, more passes than possible between two reads: the module restarted or was reset. Counting goes on from {Now}; a pass during the restart may be stored as not passed.")]
    public static partial void PassCounterReset(ILogger logger, string module, int input, ushort before, ushort now);

    [LoggerMessage(EventId = 2034, Level = LogLevel.Error, Message = "{Module} ({Model}) refused its pulse-counter registers: {Problem}. The pass sensors fall back to the input level (a short pulse can be missed) until the agent restarts: fix \"counterTable\"/\"firstCounterRegister\" in the profile from the module's manual.")]
    public static partial void CountersRefused(ILogger logger, string module, string model, string problem);

    [LoggerMessage(EventId = 2035, Level = LogLevel.Warning, Message = "{Module}: {GapMs} ms between two polls (set to every {PollMs} ms): the PC or the bus is too busy to poll on time.{Consequence}")]
    public static partial void PollGap(ILogger logger, string module, long gapMs, int pollMs, string consequence);

    [LoggerMessage(EventId = 2040, Level = LogLevel.Warning, Message = "Could not notify systemd on {Socket}: {Problem}. The service may be reported as failed to start or be restarted by the watchdog; check the unit has Type=notify and NotifyAccess=main.")]
    public static partial void SystemdNotifyFailed(ILogger logger, string socket, string problem);

    [LoggerMessage(EventId = 2041, Level = LogLevel.Error, Message = "The agent's health check failed: systemd watchdog pings are withheld, so systemd restarts the agent after {WatchdogSeconds} s unless it recovers.")]
    public static partial void WatchdogWithheld(ILogger logger, double watchdogSeconds);

    [LoggerMessage(EventId = 2042, Level = LogLevel.Information, Message = "The agent's health check passes again: systemd watchdog pings resumed.")]
    public static partial void WatchdogResumed(ILogger logger);

    [LoggerMessage(EventId = 2043, Level = LogLevel.Error, Message = "The agent's health check threw; counted as unhealthy. This is a bug; report it with this log.")]
    public static partial void WatchdogHealthCheckFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2070, Level = LogLevel.Information, Message = "{Gate} {Direction}: face on camera {Camera} {Decision} ({Reason}) {Holder} in {LatencyUs} µs after capture [{Evidence}]")]
    public static partial void FaceDecision(ILogger logger, string gate, string direction, string camera, string decision, string reason, string holder, long latencyUs, string evidence);

    [LoggerMessage(EventId = 2071, Level = LogLevel.Warning, Message = "{Gate}: the face decision for pupil {Pupil} on camera {Camera} was ready {AgeMs} ms after capture, past the deadline: the gate did not open. The pupil can look again or tap the card; if this repeats, the gate PC is overloaded (see the IT console).")]
    public static partial void FaceTooLate(ILogger logger, string gate, string camera, long pupil, long ageMs);

    [LoggerMessage(EventId = 2072, Level = LogLevel.Information, Message = "{Gate} {Direction}: camera {Camera} sees pupil {Pupil}, who has an enrolled look-alike: the face alone does not open the gate; the pupil taps the card.")]
    public static partial void FaceSecondFactor(ILogger logger, string gate, string direction, string camera, long pupil);

    [LoggerMessage(EventId = 2073, Level = LogLevel.Information, Message = "Camera {Camera} at {Gate} {Direction}: reading {Url} ({Width}×{Height}, {Fps} fps); only the newest frame is identified.")]
    public static partial void CameraStarting(ILogger logger, string camera, string gate, string direction, string url, int width, int height, int fps);

    [LoggerMessage(EventId = 2074, Level = LogLevel.Warning, Message = "{Count} camera(s) are configured under Edge:Gates:*:Cameras, but biometrics are off ({Why}); the cameras are ignored and the gates work on cards. To use them, record the DPIA and set Biometrics:Enabled (docs/biometrics.md).")]
    public static partial void CamerasIgnored(ILogger logger, int count, string why);

    [LoggerMessage(EventId = 2075, Level = LogLevel.Error, Message = "{Count} camera(s) are idle: {Problem} Run `kezekshi-edge doctor` and tools/setup.sh.")]
    public static partial void CamerasIdle(ILogger logger, int count, string problem);

    [LoggerMessage(EventId = 2076, Level = LogLevel.Error, Message = "Camera {Camera}: identifying a frame failed; the camera goes on with the next frame and cards are not affected. This is a bug; report it with this log.")]
    public static partial void CameraFrameFailed(ILogger logger, string camera, Exception exception);

    [LoggerMessage(EventId = 2077, Level = LogLevel.Warning, Message = "Camera {Camera}: could not record the use of pupil {Pupil}'s template in the biometric audit log: {Problem}. The gate opened; check the disk holding biometrics.db.")]
    public static partial void FaceUseNotRecorded(ILogger logger, string camera, long pupil, string problem);

    [LoggerMessage(EventId = 2078, Level = LogLevel.Information, Message = "Camera {Camera}: first frame identified in {Ms} ms ({Outcome}: {Reason}).")]
    public static partial void CameraFirstFrame(ILogger logger, string camera, long ms, string outcome, string reason);
}
