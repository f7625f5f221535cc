using Kezekshi.Mqtt.Native;

namespace Kezekshi.Mqtt;

/// <summary>The one exception type of this library: a libmosquitto error code, an MQTT reason code where the broker gave one, and whether retrying may help.</summary>
/// <remarks>Native return codes are translated here only (<see cref="FromError"/>), so callers never see raw ints.</remarks>
public sealed class MqttException : Exception
{
    public MqttException(string message) : this(LibMosquitto.MOSQ_ERR_UNKNOWN, message, isTransient: false) { }

    public MqttException(string message, Exception innerException) : base(message, innerException) => ErrorCode = LibMosquitto.MOSQ_ERR_UNKNOWN;

    public MqttException() : this("MQTT error") { }

    public MqttException(int errorCode, string message, bool isTransient, int? reasonCode = null) : base(message)
    {
        ErrorCode = errorCode;
        IsTransient = isTransient;
        ReasonCode = reasonCode;
    }

    /// <summary>The libmosquitto error (<c>enum mosq_err_t</c>), e.g. 5 = connection refused, 7 = connection lost, 8 = TLS.</summary>
    public int ErrorCode { get; }

    /// <summary>The MQTT 5 reason code from the broker (CONNACK, SUBACK), when there was one.</summary>
    public int? ReasonCode { get; }

    /// <summary>True when the same call may succeed later without a configuration change (broker down, connection lost).</summary>
    public bool IsTransient { get; }

    internal static bool IsTransientError(int code) => code is LibMosquitto.MOSQ_ERR_NO_CONN or LibMosquitto.MOSQ_ERR_CONN_LOST
        or LibMosquitto.MOSQ_ERR_ERRNO or LibMosquitto.MOSQ_ERR_EAI or LibMosquitto.MOSQ_ERR_KEEPALIVE or LibMosquitto.MOSQ_ERR_LOOKUP
        or LibMosquitto.MOSQ_ERR_TIMEOUT or LibMosquitto.MOSQ_ERR_NOMEM or LibMosquitto.MOSQ_ERR_CONN_PENDING;

    /// <summary>Translates a libmosquitto return code (the single boundary).</summary>
    internal static MqttException FromError(int code, string operation, int? errno = null)
    {
        var text = LibMosquitto.StrError(code);
        var detail = errno is { } e ? $", {new System.ComponentModel.Win32Exception(e).Message} (errno {e})" : "";
        return new MqttException(code, $"{operation} failed: {text} (libmosquitto error {code}{detail})", IsTransientError(code));
    }

    /// <summary>A refused CONNACK (reason code ≥ 128, MQTT 5 §3.2.2.2) or 3.1.1 return code.</summary>
    internal static MqttException Refused(int reasonCode) =>
        new(LibMosquitto.MOSQ_ERR_CONN_REFUSED,
            $"The broker refused the connection: {LibMosquitto.ReasonString(reasonCode)} (reason code {reasonCode}).",
            isTransient: reasonCode is 136 or 137 or 151 or 159, // server unavailable, busy, quota exceeded, rate exceeded
            reasonCode);
}
