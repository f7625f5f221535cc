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

    /// <summary>A refused CONNACK: MQTT 5 reason code ≥ 128 (§3.2.2.2) or MQTT 3.1.1 return code 1–5 (§3.2.2.3).</summary>
    internal static MqttException Refused(int reasonCode, bool mqtt311)
    {
        var text = mqtt311
            ? reasonCode switch
            {
                1 => "Unacceptable protocol version",
                2 => "Identifier rejected",
                3 => "Server unavailable",
                4 => "Bad user name or password",
                5 => "Not authorized",
                _ => "Unknown return code",
            }
            : LibMosquitto.ReasonString(reasonCode);
        var transient = mqtt311 ? reasonCode == 3 : reasonCode is 136 or 137 or 151 or 159; // unavailable, busy, quota, rate
        return new(LibMosquitto.MOSQ_ERR_CONN_REFUSED, $"The broker refused the connection: {text} (CONNACK code {reasonCode}).", transient, reasonCode);
    }
}
