namespace Kezekshi.Mqtt;

/// <summary>A message received from the broker; the payload is our own copy (native memory is only valid during the callback).</summary>
public sealed record MqttMessage(string Topic, ReadOnlyMemory<byte> Payload, int Qos, bool Retain);

/// <summary>
/// The broker's answer to a publish: for QoS 1 the PUBACK reason code (MQTT 5 §3.4.2.1); for QoS 0, 0 once written to the socket.
/// </summary>
/// <remarks>A reason code ≥ 128 (e.g. 135 not authorised by the ACL) is a failure: the broker did not take the message.
/// 16 (no matching subscribers) is a success.</remarks>
public readonly record struct MqttPublishResult(int MessageId, int ReasonCode, string ReasonText)
{
    public bool IsSuccess => ReasonCode < 128;
}

/// <summary>Arguments of <see cref="MqttClient.Connected"/>.</summary>
public sealed class MqttConnectedEventArgs(bool sessionPresent) : EventArgs
{
    /// <summary>The broker resumed our persistent session (subscriptions still in place).</summary>
    public bool SessionPresent { get; } = sessionPresent;
}

/// <summary>Arguments of <see cref="MqttClient.Disconnected"/>.</summary>
public sealed class MqttDisconnectedEventArgs(int errorCode, string reason) : EventArgs
{
    /// <summary>0 when we asked for it; otherwise the libmosquitto error (7 = connection lost).</summary>
    public int ErrorCode { get; } = errorCode;

    public string Reason { get; } = reason;
}
