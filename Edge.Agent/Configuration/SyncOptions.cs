using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Kezekshi.Mqtt;

namespace Kezekshi.Edge.Agent.Configuration;

/// <summary>
/// How the agent reaches the centre (section <c>Edge:Sync</c>). Without brokers the agent runs alone and keeps every
/// event in its outbox until sync is configured.
/// </summary>
public sealed partial class SyncOptions
{
    /// <summary>The region level of the topics, e.g. "almaty".</summary>
    public string Region { get; set; } = "";

    /// <summary>MQTT brokers as host:port, tried in order (a cluster's nodes); the agent moves to the next when one is unreachable.</summary>
    public List<string> Brokers { get; set; } = [];

    /// <summary>
    /// MQTT protocol version: "5" (the default; mosquitto) or "3.1.1" for a broker that speaks only that, such as the
    /// MQTT plugin of RabbitMQ 3.10 in Debian 12 (docs/scaling.md, "Shown: two-node RabbitMQ cluster").
    /// </summary>
    public string ProtocolVersion { get; set; } = "5";

    /// <summary>The parsed <see cref="ProtocolVersion"/> (MQTT 5 when it is not valid; <see cref="Validate"/> says so).</summary>
    public MqttProtocolVersion MqttVersion => MqttProtocolVersions.TryParse(ProtocolVersion, out var version) ? version : MqttProtocolVersion.V5;

    /// <summary>
    /// Upper bound of the reconnect back-off in seconds (default 30). With several brokers it also sets how soon the agent
    /// gives up on a dead node and moves to the next (about this plus 3 s); lower it for a cluster, keeping in mind that
    /// thousands of schools retrying a down broker more often make a bigger reconnect storm.
    /// </summary>
    public int ReconnectDelayMaxSeconds { get; set; } = 30;

    /// <summary>The CA that signed the brokers' certificates (PEM).</summary>
    public string? CaFile { get; set; }

    /// <summary>This school's client certificate (PEM; its CN is the school ID) and key.</summary>
    public string? CertFile { get; set; }

    public string? KeyFile { get; set; }

    /// <summary>
    /// Hosts the agent may send children's data to. Data stays in the country: a broker outside this list is refused at
    /// start. Entries are host names, IP addresses, or "*.domain" for a domain and its sub-domains.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = ["localhost", "127.0.0.1", "::1", "*.kz", "*.edu.kz"];

    public bool Enabled => Brokers.Count > 0;

    /// <summary>The brokers as (host, port), with every configuration mistake added to <paramref name="problems"/>.</summary>
    public IReadOnlyList<(string Host, int Port)> Validate(List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var brokers = new List<(string, int)>();
        if (!Enabled) return brokers;
        if (!RegionPattern().IsMatch(Region)) problems.Add($"Edge:Sync:Region \"{Region}\" must be 2–32 lowercase letters, digits or '-', as the centre registered the school (e.g. \"almaty\").");
        if (!MqttProtocolVersions.TryParse(ProtocolVersion, out _))
            problems.Add($"Edge:Sync:ProtocolVersion \"{ProtocolVersion}\" is not an MQTT version this agent speaks: use \"5\" (mosquitto, the default) or \"3.1.1\" (RabbitMQ before 3.13).");
        if (ReconnectDelayMaxSeconds is < 1 or > 600)
            problems.Add($"Edge:Sync:ReconnectDelayMaxSeconds {ReconnectDelayMaxSeconds} must be 1–600 (seconds; the default is 30).");
        for (int i = 0; i < Brokers.Count; i++)
        {
            string entry = Brokers[i].Trim();
            if (!TryParseBroker(entry, out string host, out int port))
            {
                problems.Add($"Edge:Sync:Brokers[{i}] \"{entry}\" is not host:port (e.g. \"mqtt.almaty.edu.kz:8883\").");
                continue;
            }
            if (!IsAllowed(host))
            {
                problems.Add($"Edge:Sync:Brokers[{i}] \"{host}\" is not in Edge:Sync:AllowedHosts ({string.Join(", ", AllowedHosts)}). " +
                    "Pupils' data may only go to the approved centre in the country: use the centre's address, or add this host to AllowedHosts only if it is an approved server inside the country.");
                continue;
            }
            brokers.Add((host, port));
        }
        foreach (var (name, path) in new[] { ("CaFile", CaFile), ("CertFile", CertFile), ("KeyFile", KeyFile) })
        {
            if (string.IsNullOrEmpty(path)) problems.Add($"Edge:Sync:{name} is not set: sync uses TLS with the school's certificate; set the path of the PEM file the centre issued.");
            else if (!File.Exists(path)) problems.Add($"Edge:Sync:{name} \"{path}\" does not exist (or the service user cannot see it).");
        }
        return brokers;
    }

    /// <summary>True when <paramref name="host"/> matches an entry of <see cref="AllowedHosts"/> (exactly, or under a "*." domain).</summary>
    public bool IsAllowed(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        string h = host.TrimEnd('.').ToLowerInvariant();
        foreach (string raw in AllowedHosts)
        {
            string allowed = raw.Trim().TrimEnd('.').ToLowerInvariant();
            if (allowed.StartsWith("*.", StringComparison.Ordinal))
            {
                string domain = allowed[1..]; // ".kz"
                if (h.EndsWith(domain, StringComparison.Ordinal) && h.Length > domain.Length) return true;
            }
            else if (h == allowed) return true;
        }
        return false;
    }

    public static bool TryParseBroker(string entry, out string host, out int port)
    {
        host = "";
        port = 0;
        ArgumentNullException.ThrowIfNull(entry);
        int colon = entry.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(entry.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535) return false;
        host = entry[..colon].Trim('[', ']');
        return host.Length > 0 && (IPAddress.TryParse(host, out _) || HostPattern().IsMatch(host));
    }

    [GeneratedRegex("^[a-z0-9-]{2,32}$", RegexOptions.CultureInvariant)]
    private static partial Regex RegionPattern();

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$", RegexOptions.CultureInvariant)]
    private static partial Regex HostPattern();
}
