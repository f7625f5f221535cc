using Microsoft.Extensions.Logging;

namespace Kezekshi.Mqtt;

/// <summary>MQTT client log messages (event IDs 4100–4199).</summary>
internal static partial class MqttLog
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "MQTT {ClientId} connected to {Host}:{Port} (session present: {SessionPresent}).")]
    public static partial void Connected(ILogger logger, string clientId, string host, int port, bool sessionPresent);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning,
        Message = "MQTT {ClientId} lost the connection to {Host}:{Port}: {Reason} (error {Code}). libmosquitto reconnects by itself; if this repeats, check the broker and the network.")]
    public static partial void ConnectionLost(ILogger logger, string clientId, string host, int port, string reason, int code);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Error,
        Message = "MQTT {ClientId}: broker {Host}:{Port} refused the connection: {Reason}. Check the client certificate (CN, issuing CA) and the broker's ACL.")]
    public static partial void Refused(ILogger logger, string clientId, string host, int port, string reason);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Error, Message = "MQTT {ClientId}: exception in a libmosquitto callback ({Callback}); it was caught so it cannot cross into native code.")]
    public static partial void CallbackFailed(ILogger logger, Exception exception, string clientId, string callback);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Error, Message = "MQTT {ClientId}: an event handler of {Event} threw; fix the handler.")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string clientId, string @event);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Debug, Message = "libmosquitto {ClientId} [{Level}]: {Text}")]
    public static partial void Native(ILogger logger, string clientId, int level, string text);

    [LoggerMessage(EventId = 4107, Level = LogLevel.Warning,
        Message = "MQTT {ClientId}: broker {Host}:{Port} not reachable now ({Reason}); libmosquitto keeps retrying in the background.")]
    public static partial void Offline(ILogger logger, string clientId, string host, int port, string reason);
}
