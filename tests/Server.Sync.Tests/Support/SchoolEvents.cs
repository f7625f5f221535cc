using System.Globalization;
using System.Text.Json;

namespace Kezekshi.Server.Sync.Tests.Support;

/// <summary>
/// Uplink events of a known pupil at a known time, as an edge sends them (docs/sync-protocol.md §4.1), for the tests of
/// what the centre reads back from them (balances, the parent view, dashboards).
/// </summary>
public static class SchoolEvents
{
    public static (string Type, string Payload, DateTimeOffset At) Passage(string uid, long pupilId, DateTimeOffset at, string direction = "entry",
        string decision = "granted", string outcome = "passed", string? credential = null) =>
        ("passage", $$"""
            { "schemaVersion": 1, "uid": "{{uid}}", "gate": "main-1", "direction": "{{direction}}", "holderKind": "pupil", "holderId": {{pupilId}},
              "decision": "{{decision}}", "reason": "{{(decision == "granted" ? "granted" : "outside-schedule")}}", "outcome": "{{outcome}}",
              "decidedAt": "{{Time(at)}}", "completedAt": "{{Time(at.AddSeconds(1))}}", "manualBy": null{{(credential is null ? "" : $", \"credential\": \"{credential}\"")}} }
            """, at);

    public static (string Type, string Payload, DateTimeOffset At) Charge(string chargeId, long pupilId, long amountTiyn, DateTimeOffset at) =>
        ("canteen.charge", $$"""
            { "schemaVersion": 1, "chargeId": "{{chargeId}}", "pupilId": {{pupilId}}, "amountTiyn": {{amountTiyn}},
              "items": [{ "menuItemId": 31, "qty": 1, "priceTiyn": {{amountTiyn}} }], "offline": false, "cashierId": 17, "at": "{{Time(at)}}" }
            """, at);

    public static (string Type, string Payload, DateTimeOffset At) Refund(string refundId, string chargeId, long pupilId, long amountTiyn, DateTimeOffset at) =>
        ("canteen.refund", $$"""
            { "schemaVersion": 1, "refundId": "{{refundId}}", "chargeId": "{{chargeId}}", "pupilId": {{pupilId}}, "amountTiyn": {{amountTiyn}},
              "cashierId": 17, "at": "{{Time(at)}}" }
            """, at);

    /// <summary>An <c>up/events</c> batch with seqs <paramref name="firstSeq"/>.. in the order given, each created at its own time.</summary>
    public static byte[] Batch(string school, Guid epoch, long firstSeq, IReadOnlyList<(string Type, string Payload, DateTimeOffset At)> events, string region = "almaty")
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("schemaVersion", 1);
            writer.WriteString("type", "events");
            writer.WriteString("school", school);
            writer.WriteString("region", region);
            writer.WriteString("msgId", "01JD7Z6S9W3Q4T8K2N5B0C1D2E");
            writer.WriteString("sentAt", Time(DateTimeOffset.UtcNow));
            writer.WriteString("epoch", epoch.ToString("D"));
            writer.WriteNumber("firstSeq", firstSeq);
            writer.WriteNumber("lastSeq", firstSeq + events.Count - 1);
            writer.WriteStartArray("events");
            long seq = firstSeq;
            foreach (var (type, payload, at) in events)
            {
                writer.WriteStartObject();
                writer.WriteNumber("seq", seq++);
                writer.WriteString("type", type);
                writer.WriteNumber("schemaVersion", 1);
                writer.WriteString("createdAt", Time(at));
                writer.WritePropertyName("payload");
                writer.WriteRawValue(payload);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>A school-day time in Kazakhstan (UTC+5).</summary>
    public static DateTimeOffset At(int year, int month, int day, int hour, int minute) => new(year, month, day, hour, minute, 0, TimeSpan.FromHours(5));

    private static string Time(DateTimeOffset at) => at.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);
}
