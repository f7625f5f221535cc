using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Mqtt;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Agent.Sync;

/// <summary>One uplink message: consecutive outbox rows, ready to publish.</summary>
public sealed record OutboxBatch(long FirstSeq, long LastSeq, int Count, ReadOnlyMemory<byte> Payload);

/// <summary>
/// Reads the outbox by a seq cursor and packs consecutive events into <c>up/events</c> messages
/// (docs/sync-protocol.md §4.1): at most <see cref="MaxEvents"/> events or <see cref="MaxBytes"/> bytes,
/// each event's payload embedded as the raw JSON the recorder stored (never re-serialised).
/// Memory stays bounded by one page whatever the backlog.
/// </summary>
public sealed class OutboxBatcher(EdgeDatabase database, string school, string region)
{
    /// <summary>Version of the <c>events</c> envelope.</summary>
    public const int EnvelopeSchemaVersion = 1;
    public const int MaxEvents = 500;
    public const int MaxBytes = 256 * 1024;

    /// <summary>Stage names of <see cref="Timings"/>, in order.</summary>
    public static readonly string[] TimingStages = ["edge: read outbox + serialise", "edge: publish -> PUBACK", "edge: apply watermark (SQLite, fsync)"];

    internal const int StageRead = 0, StagePublish = 1, StageAcknowledge = 2;

    /// <summary>Where the edge's sync time goes (the benchmark sets it; null: not measured). Stages: <see cref="TimingStages"/>.</summary>
    public StageTimings? Timings { get; init; }

    /// <summary>The store the outbox lives in.</summary>
    public EdgeDatabase Database => database;

    /// <summary>The epoch and the acknowledged watermark, as stored.</summary>
    public (string Epoch, long Watermark) ReadState()
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT epoch, watermark FROM sync_state WHERE id = 1";
        using var reader = command.ExecuteReader();
        if (!reader.Read()) throw new StoreException($"The database {database.Path} has no sync state row; it was not migrated by this agent.");
        return (reader.GetString(0), reader.GetInt64(1));
    }

    /// <summary>Events waiting for the centre's acknowledgement.</summary>
    public long Backlog()
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM outbox WHERE acknowledged_at IS NULL";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>The first unacknowledged and the last outbox seq (0 when none), for <c>hello</c>: the centre computes the lag from them.</summary>
    public (long FirstUnacknowledged, long Last) Range()
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE((SELECT MIN(seq) FROM outbox WHERE acknowledged_at IS NULL), 0), COALESCE((SELECT MAX(seq) FROM outbox), 0)";
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>The next message of events with seq &gt; <paramref name="afterSeq"/>, or null when there are none.</summary>
    public OutboxBatch? Next(long afterSeq, string epoch, DateTimeOffset now)
    {
        long started = StageTimings.Start();
        var batch = Read(afterSeq, epoch, now);
        if (batch is not null) Timings?.Add(StageRead, started);
        return batch;
    }

    private OutboxBatch? Read(long afterSeq, string epoch, DateTimeOffset now)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, event_type, schema_version, payload, created_at FROM outbox WHERE seq > $after ORDER BY seq LIMIT $limit";
        command.Parameters.AddWithValue("$after", afterSeq);
        command.Parameters.AddWithValue("$limit", MaxEvents);
        using var reader = command.ExecuteReader();

        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        using var json = new Utf8JsonWriter(buffer);
        json.WriteStartObject();
        json.WriteNumber("schemaVersion", EnvelopeSchemaVersion);
        json.WriteString("type", "events");
        json.WriteString("school", school);
        json.WriteString("region", region);
        json.WriteString("msgId", Guid.CreateVersion7(now).ToString("N"));
        json.WriteString("sentAt", now.ToString("O", CultureInfo.InvariantCulture));
        json.WriteString("epoch", epoch);
        json.WriteStartArray("events");
        long first = 0, last = 0;
        int count = 0;
        while (reader.Read())
        {
            long seq = reader.GetInt64(0);
            if (count > 0 && seq != last + 1) break; // a hole (a row not yet committed): send up to it
            // The stored UTF-8 bytes as they are: no string in between, the writer still checks it is one JSON value.
            byte[] payload = reader.GetFieldValue<byte[]>(3);
            // Close the message before it passes the size limit (the envelope tail is small).
            if (count > 0 && json.BytesPending + buffer.WrittenCount + payload.Length + 256 > MaxBytes) break;
            json.WriteStartObject();
            json.WriteNumber("seq", seq);
            json.WriteString("type", reader.GetString(1));
            json.WriteNumber("schemaVersion", reader.GetInt32(2));
            json.WriteString("createdAt", reader.GetString(4));
            json.WritePropertyName("payload");
            json.WriteRawValue(payload, skipInputValidation: false);
            json.WriteEndObject();
            if (count == 0) first = seq;
            last = seq;
            count++;
        }
        if (count == 0) return null;
        json.WriteEndArray();
        json.WriteNumber("firstSeq", first);
        json.WriteNumber("lastSeq", last);
        json.WriteEndObject();
        json.Flush();
        return new OutboxBatch(first, last, count, buffer.WrittenMemory);
    }

    /// <summary>
    /// Applies the centre's watermark: events up to it leave the outbox (marked acknowledged; pruned later).
    /// Watermarks only move forward; one for another epoch is ignored. Returns the watermark now stored.
    /// </summary>
    public long Acknowledge(string epoch, long watermark, DateTimeOffset now)
    {
        long started = StageTimings.Start();
        long stored = Apply(epoch, watermark, now);
        Timings?.Add(StageAcknowledge, started);
        return stored;
    }

    private long Apply(string epoch, long watermark, DateTimeOffset now)
    {
        using var connection = database.Connect();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT epoch, watermark FROM sync_state WHERE id = 1";
        string storedEpoch;
        long stored;
        using (var reader = command.ExecuteReader())
        {
            reader.Read();
            storedEpoch = reader.GetString(0);
            stored = reader.GetInt64(1);
        }
        if (storedEpoch != epoch || watermark <= stored) return stored;
        command.CommandText = "UPDATE outbox SET acknowledged_at = $now WHERE seq <= $w AND acknowledged_at IS NULL";
        command.Parameters.AddWithValue("$now", now.ToString("O", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$w", watermark);
        command.ExecuteNonQuery();
        command.CommandText = "UPDATE sync_state SET watermark = $w WHERE id = 1";
        command.ExecuteNonQuery();
        transaction.Commit();
        return watermark;
    }
}
