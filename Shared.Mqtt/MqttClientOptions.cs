namespace Kezekshi.Mqtt;

/// <summary>MQTT protocol version on the wire.</summary>
public enum MqttProtocolVersion
{
    /// <summary>MQTT 3.1.1 (e.g. RabbitMQ before 3.13).</summary>
    V311 = 4,

    /// <summary>MQTT 5.</summary>
    V5 = 5,
}

/// <summary>Reads the protocol version as a school's IT person writes it in a configuration file.</summary>
public static class MqttProtocolVersions
{
    /// <summary>"5" (or "V5") is MQTT 5; "3.1.1" (or "V311") is MQTT 3.1.1, which RabbitMQ before 3.13 speaks.</summary>
    public static bool TryParse(string? text, out MqttProtocolVersion version)
    {
        switch (text?.Trim().ToUpperInvariant())
        {
            case "5" or "V5" or "5.0":
                version = MqttProtocolVersion.V5;
                return true;
            case "3.1.1" or "V311" or "311":
                version = MqttProtocolVersion.V311;
                return true;
            default:
                version = MqttProtocolVersion.V5;
                return false;
        }
    }
}

/// <summary>Settings for <see cref="MqttClient"/>.</summary>
public sealed class MqttClientOptions
{
    /// <summary>Broker host name or address (with TLS it must match the server certificate's SAN).</summary>
    public required string Host { get; init; }

    public int Port { get; init; } = 8883;

    /// <summary>
    /// Further brokers (the other nodes of a cluster), tried in turn after <see cref="Host"/>:<see cref="Port"/> when a
    /// connection cannot be made or stays lost: the client never depends on one broker node.
    /// </summary>
    public IReadOnlyList<MqttBroker> Brokers { get; init; } = [];

    /// <summary>Client ID. With the broker's <c>use_username_as_clientid</c> the broker replaces it with the certificate CN.</summary>
    public required string ClientId { get; init; }

    public MqttProtocolVersion ProtocolVersion { get; init; } = MqttProtocolVersion.V5;

    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>CA file that signed the broker's certificate. Null = plain TCP.</summary>
    public string? CaFile { get; init; }

    /// <summary>Client certificate (PEM) for mutual TLS; needs <see cref="KeyFile"/>.</summary>
    public string? CertFile { get; init; }

    /// <summary>Unencrypted private key (PEM) of <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; init; }

    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>
    /// Zero: clean session. Greater than zero: clean start = false and (MQTT 5) the session expiry
    /// interval property on CONNECT, so the broker keeps subscriptions and queued QoS 1 messages while we are away.
    /// </summary>
    public TimeSpan SessionExpiry { get; init; } = TimeSpan.Zero;

    /// <summary>First reconnect delay of the library's loop thread (whole seconds, at least 1).</summary>
    public TimeSpan ReconnectDelayMin { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of the exponential reconnect back-off.</summary>
    public TimeSpan ReconnectDelayMax { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>QoS 1/2 messages in flight at once (MQTT 5 send maximum); further publishes queue inside libmosquitto.</summary>
    public int MaxInflight { get; init; } = 8;

    internal bool UseTls => CaFile is not null;

    internal void Validate()
    {
        if (string.IsNullOrEmpty(Host)) throw new ArgumentException("Host is required.", nameof(Host));
        if (string.IsNullOrEmpty(ClientId)) throw new ArgumentException("ClientId is required.", nameof(ClientId));
        if (Port is <= 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(Port), Port, "Port must be 1–65535.");
        if ((CertFile is null) != (KeyFile is null)) throw new ArgumentException("CertFile and KeyFile go together.", nameof(CertFile));
        if (CertFile is not null && CaFile is null) throw new ArgumentException("A client certificate needs CaFile (TLS).", nameof(CaFile));
        if (MaxInflight < 1) throw new ArgumentOutOfRangeException(nameof(MaxInflight), MaxInflight, "At least 1.");
        if (ReconnectDelayMin < TimeSpan.FromSeconds(1) || ReconnectDelayMax < ReconnectDelayMin)
            throw new ArgumentOutOfRangeException(nameof(ReconnectDelayMin), "ReconnectDelayMin ≥ 1 s and ≤ ReconnectDelayMax.");
    }
}

/// <summary>One broker address.</summary>
public sealed record MqttBroker(string Host, int Port);
