using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Web;

/// <summary>Source-generated log messages of the web UI (event IDs 2500–2599).</summary>
internal static partial class WebLog
{
    [LoggerMessage(EventId = 2501, Level = LogLevel.Information, Message = "Web UI listening on {Urls}.")]
    public static partial void Listening(ILogger logger, string urls);

    [LoggerMessage(EventId = 2502, Level = LogLevel.Error, Message = "The web UI could not start: {Problem} The gates keep working without it.")]
    public static partial void StartFailed(ILogger logger, string problem);

    [LoggerMessage(EventId = 2510, Level = LogLevel.Information, Message = "{Name} ({Role}) signed in from {Address}.")]
    public static partial void SignedIn(ILogger logger, string name, string role, string address);

    [LoggerMessage(EventId = 2511, Level = LogLevel.Warning, Message = "Wrong password for '{Name}' from {Address}.")]
    public static partial void LoginFailed(ILogger logger, string name, string address);

    [LoggerMessage(EventId = 2512, Level = LogLevel.Warning, Message = "Account '{Name}' locked after {Failures} wrong passwords (last from {Address}). It unlocks by itself, or reset it with `kezekshi-edge users reset --name {Name}`.")]
    public static partial void AccountLocked(ILogger logger, string name, string address, int failures);

    [LoggerMessage(EventId = 2503, Level = LogLevel.Error, Message = "The web UI runs without face payment and enrolment: {Problem} Cards work as before.")]
    public static partial void BiometricsUnavailable(ILogger logger, string problem);

    [LoggerMessage(EventId = 2530, Level = LogLevel.Information, Message = "Till of {Cashier}: face not recognised for canteen-payment ({Reason}).")]
    public static partial void FaceNotRecognised(ILogger logger, string cashier, string reason);

    [LoggerMessage(EventId = 2531, Level = LogLevel.Warning, Message = "Till of {Cashier}: the camera failed: {Problem}")]
    public static partial void TillCameraFailed(ILogger logger, string cashier, string problem);

    [LoggerMessage(EventId = 2532, Level = LogLevel.Information, Message = "Till of {Cashier}: cashier confirmed pupil {PupilId} recognised by face.")]
    public static partial void FaceConfirmed(ILogger logger, string cashier, long pupilId);
}
