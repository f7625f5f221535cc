using System.Buffers;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Kezekshi.Edge.Agent.Sync;

/// <summary>
/// The key lists of a snapshot (docs/sync-protocol.md §5.4), which the inbox applies itself whatever else is wired:
/// <c>snapshot.begin</c> drops the keys of any older, half-received snapshot; each <c>snapshot.keys</c> part is stored in
/// <c>snapshot_keys</c> in the transaction that records its version, so a disconnect or an agent restart between parts loses
/// nothing and a re-sent part adds nothing. <see cref="Complete"/> turns <c>snapshot.end</c> into the full lists the removing
/// handlers read, only when every announced part and every counted key has arrived.
/// </summary>
public sealed partial class SnapshotHandlers : IDownlinkHandler
{
    public const string Begin = "snapshot.begin";
    public const string Keys = "snapshot.keys";
    public const string End = "snapshot.end";

    /// <summary>Most parts one snapshot may announce (10,000 pupils take about 30).</summary>
    public const int MaxParts = 10_000;

    public IReadOnlyCollection<string> Kinds { get; } = [Begin, Keys];

    public void Apply(DownlinkChange change, DownlinkContext context)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(context);
        string snapshotId = change.String("snapshotId", 100);
        if (change.Kind == Begin)
        {
            // A newer snapshot supersedes one whose end never came (the school jumped to this one): its keys are of no use.
            Execute(context, "DELETE FROM snapshot_keys WHERE snapshot_id <> $s", ("$s", snapshotId));
            Execute(context, "DELETE FROM snapshot_parts WHERE snapshot_id <> $s", ("$s", snapshotId));
            return;
        }
        long part = change.Long("part");
        if (part is < 1 or > MaxParts) throw new DownlinkRejection($"snapshot.keys.part {part} is outside 1–{MaxParts}");
        var lists = new List<(string Kind, string Json)>();
        foreach (var property in change.Data.EnumerateObject())
        {
            if (property.Name is "snapshotId" or "part") continue;
            if (!KindName().IsMatch(property.Name)) throw new DownlinkRejection($"snapshot.keys has a list named \"{property.Name}\"; list names are letters only");
            if (property.Value.ValueKind != JsonValueKind.Array) throw new DownlinkRejection($"snapshot.keys.{property.Name} is not an array");
            foreach (var item in property.Value.EnumerateArray())
                if (item.ValueKind is not (JsonValueKind.Number or JsonValueKind.String) || item.ValueKind == JsonValueKind.Number && !item.TryGetInt64(out _))
                    throw new DownlinkRejection($"snapshot.keys.{property.Name} holds a {item.ValueKind}; keys are integers or strings");
            lists.Add((property.Name, property.Value.GetRawText()));
        }
        Execute(context, "INSERT OR IGNORE INTO snapshot_parts(snapshot_id, part) VALUES ($s, $p)", ("$s", snapshotId), ("$p", part));
        foreach (var (kind, json) in lists)
            Execute(context, "INSERT OR IGNORE INTO snapshot_keys(snapshot_id, kind, key) SELECT $s, $k, value FROM json_each($list)",
                ("$s", snapshotId), ("$k", kind), ("$list", json));
    }

    /// <summary>
    /// The <c>snapshot.end</c> the removing handlers read: unchanged when it carries its lists inline (written before the lists
    /// were split, small schools); otherwise the lists assembled from the stored parts, after checking that all
    /// <c>parts</c> arrived and each list holds exactly the keys <c>counts</c> announces. A mismatch is a
    /// <see cref="DownlinkRejection"/> naming it, and nothing is removed.
    /// </summary>
    public static DownlinkChange Complete(DownlinkChange end, DownlinkContext context)
    {
        ArgumentNullException.ThrowIfNull(end);
        ArgumentNullException.ThrowIfNull(context);
        if (end.Data.ValueKind != JsonValueKind.Object || !end.Data.TryGetProperty("parts", out _)) return end;
        string snapshotId = end.String("snapshotId", 100);
        long parts = end.Long("parts");
        if (parts is < 1 or > MaxParts) throw new DownlinkRejection($"snapshot.end.parts {parts} is outside 1–{MaxParts}; nothing was removed");
        if (!end.Data.TryGetProperty("counts", out var counts) || counts.ValueKind != JsonValueKind.Object)
            throw new DownlinkRejection("snapshot.end.counts is missing or not an object; nothing was removed");

        var received = new List<long>();
        using (var command = context.Command("SELECT part FROM snapshot_parts WHERE snapshot_id = $s ORDER BY part"))
        {
            command.Parameters.AddWithValue("$s", snapshotId);
            using var reader = command.ExecuteReader();
            while (reader.Read()) received.Add(reader.GetInt64(0));
        }
        var missing = Enumerable.Range(1, (int)parts).Select(p => (long)p).Except(received).ToList();
        if (missing.Count > 0 || received.Count != parts)
            throw new DownlinkRejection($"snapshot {snapshotId} announces {parts} key parts but {received.Count} arrived"
                + (missing.Count > 0 ? $" (missing: {string.Join(", ", missing.Take(10))}{(missing.Count > 10 ? ", …" : "")})" : $" (parts {string.Join(", ", received.Where(p => p > parts).Take(10))} were not announced)")
                + "; nothing was removed. Ask the centre for a new snapshot (POST /api/schools/{id}/resync).");

        var stored = new Dictionary<string, long>(StringComparer.Ordinal);
        using (var command = context.Command("SELECT kind, COUNT(*) FROM snapshot_keys WHERE snapshot_id = $s GROUP BY kind"))
        {
            command.Parameters.AddWithValue("$s", snapshotId);
            using var reader = command.ExecuteReader();
            while (reader.Read()) stored[reader.GetString(0)] = reader.GetInt64(1);
        }
        var announced = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var count in counts.EnumerateObject())
        {
            if (!KindName().IsMatch(count.Name) || count.Value.ValueKind != JsonValueKind.Number || !count.Value.TryGetInt64(out long n) || n < 0)
                throw new DownlinkRejection($"snapshot.end.counts.{count.Name} is not a count of keys; nothing was removed");
            announced[count.Name] = n;
        }
        var wrong = announced.Where(a => stored.GetValueOrDefault(a.Key) != a.Value).Select(a => $"{a.Key}: {a.Value} announced, {stored.GetValueOrDefault(a.Key)} received")
            .Concat(stored.Where(s => !announced.ContainsKey(s.Key)).Select(s => $"{s.Key}: {s.Value} received, none announced")).ToList();
        if (wrong.Count > 0)
            throw new DownlinkRejection($"snapshot {snapshotId}: the key counts do not match ({string.Join("; ", wrong)}); nothing was removed. "
                + "Ask the centre for a new snapshot (POST /api/schools/{id}/resync).");

        // The lists as the inline form carries them, for the handlers that remove what is not listed.
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("snapshotId", snapshotId);
            json.WriteNumber("parts", parts);
            foreach (string kind in announced.Keys)
            {
                using var command = context.Command("SELECT json_group_array(key) FROM snapshot_keys WHERE snapshot_id = $s AND kind = $k");
                command.Parameters.AddWithValue("$s", snapshotId);
                command.Parameters.AddWithValue("$k", kind);
                json.WritePropertyName(kind);
                json.WriteRawValue((string)command.ExecuteScalar()!, skipInputValidation: true);
            }
            json.WriteEndObject();
        }
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return end with { Data = document.RootElement.Clone() };
    }

    /// <summary>Drops the stored keys of a snapshot whose end was applied (or rejected): they are of no further use.</summary>
    public static void Forget(DownlinkChange end, DownlinkContext context)
    {
        ArgumentNullException.ThrowIfNull(end);
        ArgumentNullException.ThrowIfNull(context);
        if (end.Data.ValueKind != JsonValueKind.Object || !end.Data.TryGetProperty("snapshotId", out var id) || id.ValueKind != JsonValueKind.String) return;
        Execute(context, "DELETE FROM snapshot_keys WHERE snapshot_id = $s", ("$s", id.GetString()!));
        Execute(context, "DELETE FROM snapshot_parts WHERE snapshot_id = $s", ("$s", id.GetString()!));
    }

    [GeneratedRegex("^[A-Za-z]{1,40}$", RegexOptions.CultureInvariant)]
    private static partial Regex KindName();

    private static void Execute(DownlinkContext context, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = context.Command(sql);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        command.ExecuteNonQuery();
    }
}
