using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Biometrics.Storage;

/// <summary>An event waiting in biometrics.db for the agent to forward to the centre.</summary>
public sealed record OutgoingEvent(long Seq, string Type, long PupilId, string Payload, DateTimeOffset CreatedAt);

/// <summary>
/// Payload of <c>biometric-data-deleted</c>: the centre learns that a pupil's templates are gone
/// and why, never the templates. Schema version 1.
/// </summary>
public sealed record BiometricDataDeleted(int SchemaVersion, long PupilId, string Reason, DateTimeOffset DeletedAt, string DeletedBy, long ReceiptId, string ReceiptSha256, int TemplatesDeleted, int PhotosDeleted);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(BiometricDataDeleted))]
internal sealed partial class BiometricsJsonContext : JsonSerializerContext;

/// <summary>
/// The outbox of biometrics.db: events are written in the same transaction as the change they
/// describe; the agent drains them (read after a sequence number, then mark sent) into its own outbox.
/// </summary>
public sealed class OutgoingEvents
{
    /// <summary>A pupil's templates (and photos) were deleted: revocation, objection, expiry or leaving.</summary>
    public const string BiometricDataDeletedType = "biometric-data-deleted";

    private readonly BiometricsDatabase _database;

    public OutgoingEvents(BiometricsDatabase database) => _database = database;

    /// <summary>Unsent events after <paramref name="afterSeq"/>, oldest first.</summary>
    public IReadOnlyList<OutgoingEvent> ReadAfter(long afterSeq, int max = 100)
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, type, pupil_id, payload, created_at FROM outgoing_events WHERE seq > $after AND sent_at IS NULL ORDER BY seq LIMIT $max";
        command.Parameters.AddWithValue("$after", afterSeq);
        command.Parameters.AddWithValue("$max", max);
        using var reader = command.ExecuteReader();
        var events = new List<OutgoingEvent>();
        while (reader.Read())
            events.Add(new OutgoingEvent(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture)));
        return events;
    }

    /// <summary>Marks every event up to and including <paramref name="uptoSeq"/> as handed over; returns how many changed.</summary>
    public int MarkSent(long uptoSeq, DateTimeOffset at)
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE outgoing_events SET sent_at = $at WHERE seq <= $upto AND sent_at IS NULL";
        command.Parameters.AddWithValue("$at", at.ToString("O", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$upto", uptoSeq);
        return command.ExecuteNonQuery();
    }

    internal static void Enqueue(SqliteConnection connection, SqliteTransaction transaction, BiometricDataDeleted deleted)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO outgoing_events (type, pupil_id, payload, created_at) VALUES ($type, $pupil, $payload, $at)";
        command.Parameters.AddWithValue("$type", BiometricDataDeletedType);
        command.Parameters.AddWithValue("$pupil", deleted.PupilId);
        command.Parameters.AddWithValue("$payload", JsonSerializer.Serialize(deleted, BiometricsJsonContext.Default.BiometricDataDeleted));
        command.Parameters.AddWithValue("$at", deleted.DeletedAt.ToString("O", CultureInfo.InvariantCulture));
        command.ExecuteNonQuery();
    }
}
