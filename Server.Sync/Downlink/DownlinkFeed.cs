using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Kezekshi.Server.Sync.Store;
using Npgsql;
using NpgsqlTypes;

namespace Kezekshi.Server.Sync.Downlink;

/// <summary>One <c>down/changes</c> message ready to publish.</summary>
public sealed record DownlinkBatch(long FromVersion, long ToVersion, ReadOnlyMemory<byte> Payload);

/// <summary>What a school said in <c>hello</c> (docs/sync-protocol.md §6).</summary>
/// <param name="TemplateKey">The school's public key for templates sealed for it (checked P-256 SubjectPublicKeyInfo), or null.</param>
public sealed record SchoolHello(string School, string Region, Guid Epoch, string? AgentVersion, long OutboxFirstUnacked, long OutboxLast,
    long WatermarkSeen, long AppliedVersion, SchoolTemplateKey? TemplateKey = null);

/// <summary>A school's public template transfer key from its hello (docs/sync-protocol.md §5.3).</summary>
public sealed record SchoolTemplateKey(string KeyId, byte[] PublicKey);

/// <summary>What a school said in <c>up/acks</c> (docs/sync-protocol.md §5.2).</summary>
public sealed record SchoolApplied(string School, string Region, long AppliedVersion, IReadOnlyList<(long Version, string Reason)> Rejected,
    IReadOnlyList<(string ConsentId, int Templates, DateTimeOffset At)> Purged);

/// <summary>
/// The centre's side of the downlink in PostgreSQL: reads a school's versioned changes into <c>down/changes</c> messages and
/// records what schools report (hello, applied versions, rejected changes, purge confirmations). The changes themselves are
/// written by the API in the same transaction as the domain change (see <c>downlink_changes</c>).
/// </summary>
public sealed class DownlinkFeed(CentreDatabase database, TimeProvider? time = null)
{
    /// <summary>Most changes in one message, and its size limit (docs/sync-protocol.md §3).</summary>
    public const int MaxChanges = 500;
    public const int MaxBytes = 256 * 1024;

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The registered region of a school, or null when it is not registered.</summary>
    public Task<string?> RegionOfAsync(string school, CancellationToken cancellationToken) =>
        database.RunAsync("looking up a school in", async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand("SELECT region FROM schools WHERE id = $1", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = school });
            return await command.ExecuteScalarAsync(ct).ConfigureAwait(false) as string;
        }, cancellationToken);

    /// <summary>Records a hello (last seen, agent version, outbox lag) and returns the watermark of the school's epoch (0 when new).</summary>
    public Task<long> RecordHelloAsync(SchoolHello hello, CancellationToken cancellationToken) =>
        database.RunAsync("recording a school's hello in", async (connection, ct) =>
        {
            long watermark;
            await using (var read = new NpgsqlCommand("SELECT watermark FROM school_streams WHERE school = $1 AND epoch = $2", connection))
            {
                read.Parameters.Add(new NpgsqlParameter { Value = hello.School });
                read.Parameters.Add(new NpgsqlParameter { Value = hello.Epoch });
                watermark = await read.ExecuteScalarAsync(ct).ConfigureAwait(false) is long w ? w : 0;
            }
            await using var update = new NpgsqlCommand("""
                UPDATE schools SET last_seen = now(), last_hello = now(), agent_version = $2, outbox_lag = $3,
                       downlink_acked_version = GREATEST(downlink_acked_version, $4)
                WHERE id = $1
                """, connection);
            update.Parameters.Add(new NpgsqlParameter { Value = hello.School });
            update.Parameters.Add(new NpgsqlParameter { Value = (object?)hello.AgentVersion ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            update.Parameters.Add(new NpgsqlParameter { Value = Math.Max(0, hello.OutboxLast - Math.Max(watermark, hello.WatermarkSeen)) });
            update.Parameters.Add(new NpgsqlParameter { Value = hello.AppliedVersion });
            await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            if (hello.TemplateKey is { } key)
            {
                await using var remember = new NpgsqlCommand("""
                    UPDATE schools SET template_key_id = $2, template_public_key = $3, template_key_at = now()
                    WHERE id = $1 AND template_key_id IS DISTINCT FROM $2
                    """, connection);
                remember.Parameters.Add(new NpgsqlParameter { Value = hello.School });
                remember.Parameters.Add(new NpgsqlParameter { Value = key.KeyId });
                remember.Parameters.Add(new NpgsqlParameter { Value = key.PublicKey });
                await remember.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            return watermark;
        }, cancellationToken);

    /// <summary>Records an applied version (monotonic), the changes the school rejected and the purges it confirmed.</summary>
    public Task RecordAppliedAsync(SchoolApplied applied, CancellationToken cancellationToken) =>
        database.RunAsync("recording a school's applied version in", async (connection, ct) =>
        {
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using (var update = new NpgsqlCommand(
                "UPDATE schools SET last_seen = now(), downlink_acked_version = GREATEST(downlink_acked_version, $2) WHERE id = $1", connection, transaction))
            {
                update.Parameters.Add(new NpgsqlParameter { Value = applied.School });
                update.Parameters.Add(new NpgsqlParameter { Value = applied.AppliedVersion });
                await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            foreach (var (version, reason) in applied.Rejected)
            {
                await using var reject = new NpgsqlCommand(
                    "INSERT INTO downlink_rejections(school, version, reason) VALUES ($1, $2, $3) ON CONFLICT (school, version) DO UPDATE SET reason = excluded.reason",
                    connection, transaction);
                reject.Parameters.Add(new NpgsqlParameter { Value = applied.School });
                reject.Parameters.Add(new NpgsqlParameter { Value = version });
                reject.Parameters.Add(new NpgsqlParameter { Value = reason });
                await reject.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            foreach (var (consentId, templates, at) in applied.Purged)
            {
                await using var purge = new NpgsqlCommand(
                    "INSERT INTO purge_confirmations(school, consent_id, templates, purged_at) VALUES ($1, $2, $3, $4) ON CONFLICT (school, consent_id) DO NOTHING",
                    connection, transaction);
                purge.Parameters.Add(new NpgsqlParameter { Value = applied.School });
                purge.Parameters.Add(new NpgsqlParameter { Value = consentId });
                purge.Parameters.Add(new NpgsqlParameter { Value = templates });
                purge.Parameters.Add(new NpgsqlParameter { Value = at });
                await purge.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>
    /// Where the school's downlink starts after its hello (docs/sync-protocol.md §5.4): normally the version it has applied.
    /// A school that has applied nothing (a new or reset gate PC) while its feed holds more than <paramref name="snapshotAbove"/>
    /// changes or already holds a snapshot, or one behind the feed's retention floor (its next version is no longer in the
    /// feed), starts at a snapshot instead: the newest one in the feed when fewer than <paramref name="snapshotAbove"/> changes
    /// followed it, else a new one written now. Returns the version before that snapshot's <c>snapshot.begin</c>; the school accepts the
    /// jump because the batch starts with <c>snapshot.begin</c>.
    /// </summary>
    public Task<long> BaseVersionAsync(string school, long appliedVersion, long snapshotAbove, CancellationToken cancellationToken) =>
        database.RunAsync("choosing where a school's downlink starts in", async (connection, ct) =>
        {
            if (appliedVersion > 0)
            {
                // The usual hello: one index probe, no lock. Only a school behind the floor goes on below.
                await using var probe = new NpgsqlCommand("SELECT MIN(version) FROM downlink_changes WHERE school = $1", connection);
                probe.Parameters.Add(new NpgsqlParameter { Value = school });
                if (await probe.ExecuteScalarAsync(ct).ConfigureAwait(false) is not long oldest || oldest <= appliedVersion + 1) return appliedVersion;
            }
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            // The feed row lock: two workers answering two hellos of one school write at most one snapshot.
            long latest;
            await using (var lockRow = new NpgsqlCommand("SELECT version FROM school_feeds WHERE school = $1 FOR UPDATE", connection, transaction))
            {
                lockRow.Parameters.Add(new NpgsqlParameter { Value = school });
                latest = await lockRow.ExecuteScalarAsync(ct).ConfigureAwait(false) is long v ? v : 0;
            }
            // A snapshot is written in one transaction, so the newest snapshot.end closes the newest snapshot.begin.
            long floor = 0, lastSnapshot = 0, lastEnd = 0;
            await using (var read = new NpgsqlCommand("""
                SELECT COALESCE((SELECT MIN(version) FROM downlink_changes WHERE school = $1), 0),
                       COALESCE((SELECT MAX(version) FROM downlink_changes WHERE school = $1 AND type = 'snapshot.begin'), 0),
                       COALESCE((SELECT MAX(version) FROM downlink_changes WHERE school = $1 AND type = 'snapshot.end'), 0)
                """, connection, transaction))
            {
                read.Parameters.Add(new NpgsqlParameter { Value = school });
                await using var reader = await read.ExecuteReaderAsync(ct).ConfigureAwait(false);
                if (await reader.ReadAsync(ct).ConfigureAwait(false)) (floor, lastSnapshot, lastEnd) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
            }
            // A snapshot written before the key lists were split (inline lists in snapshot.end) is not reused: its end may not fit
            // in a message and it removes no announcements or dishes. In the split form the change before the end is a key part.
            bool splitForm = false;
            if (lastEnd > 0)
            {
                await using var keys = new NpgsqlCommand(
                    "SELECT EXISTS (SELECT 1 FROM downlink_changes WHERE school = $1 AND version = $2 AND type = 'snapshot.keys')", connection, transaction);
                keys.Parameters.Add(new NpgsqlParameter { Value = school });
                keys.Parameters.Add(new NpgsqlParameter { Value = lastEnd - 1 });
                splitForm = (bool)(await keys.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            }
            bool behindFloor = latest > appliedVersion && floor > appliedVersion + 1;
            // Fresh: a long history, or one that already holds a snapshot to start from (it is the whole state as well).
            bool fresh = appliedVersion == 0 && (latest > snapshotAbove || lastEnd > lastSnapshot && lastSnapshot > 0);
            if (!behindFloor && !fresh)
            {
                await transaction.CommitAsync(ct).ConfigureAwait(false);
                return appliedVersion;
            }
            long start;
            if (splitForm && lastSnapshot > appliedVersion && lastSnapshot >= floor && lastEnd > lastSnapshot && latest - lastEnd < snapshotAbove) start = lastSnapshot - 1;
            else
            {
                var written = await Domain.Snapshots.WriteAsync(connection, transaction, school,
                    behindFloor ? $"school at version {appliedVersion} is behind the feed's retention floor {floor}" : "school has applied nothing (new or reset gate PC)",
                    _time.GetUtcNow(), ct).ConfigureAwait(false);
                start = written.FromVersion - 1;
            }
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return start;
        }, cancellationToken);

    /// <summary>The newest change version of every school that has changes.</summary>
    public Task<Dictionary<string, long>> LatestVersionsAsync(CancellationToken cancellationToken) =>
        database.RunAsync("reading the downlink feed of", async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand("SELECT school, MAX(version) FROM downlink_changes GROUP BY school", connection);
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            var latest = new Dictionary<string, long>(StringComparer.Ordinal);
            while (await reader.ReadAsync(ct).ConfigureAwait(false)) latest[reader.GetString(0)] = reader.GetInt64(1);
            return latest;
        }, cancellationToken);

    /// <summary>The next <c>down/changes</c> message after <paramref name="afterVersion"/>, or null when the school has none.</summary>
    public Task<DownlinkBatch?> ReadAsync(string school, string region, long afterVersion, CancellationToken cancellationToken) =>
        database.RunAsync("reading downlink changes from", async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand(
                "SELECT version, type, schema_version, payload::text FROM downlink_changes WHERE school = $1 AND version > $2 ORDER BY version LIMIT $3",
                connection);
            command.Parameters.Add(new NpgsqlParameter { Value = school });
            command.Parameters.Add(new NpgsqlParameter { Value = afterVersion });
            command.Parameters.Add(new NpgsqlParameter { Value = MaxChanges });
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);

            var changes = new ArrayBufferWriter<byte>(16 * 1024);
            long from = 0, to = 0;
            int size = 512;
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                long version = reader.GetInt64(0);
                if (version != (to == 0 ? afterVersion + 1 : to + 1)) break; // never send past a hole (a change still being committed)
                string kind = reader.GetString(1), data = reader.GetString(3);
                int length = Encoding.UTF8.GetByteCount(data) + kind.Length + 64;
                if (to != 0 && size + length > MaxBytes) break;
                size += length;
                using (var json = new Utf8JsonWriter(changes))
                {
                    json.WriteStartObject();
                    json.WriteNumber("version", version);
                    json.WriteString("kind", kind);
                    json.WriteNumber("schemaVersion", reader.GetInt32(2));
                    json.WritePropertyName("data");
                    json.WriteRawValue(data, skipInputValidation: true);
                    json.WriteEndObject();
                }
                changes.Write(","u8);
                if (from == 0) from = version;
                to = version;
            }
            if (to == 0) return null;

            var buffer = new ArrayBufferWriter<byte>(size + 256);
            var now = _time.GetUtcNow();
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteNumber("schemaVersion", 1);
                json.WriteString("type", "changes");
                json.WriteString("school", school);
                json.WriteString("region", region);
                json.WriteString("msgId", Guid.CreateVersion7(now).ToString("N"));
                json.WriteString("sentAt", now.ToString("O", CultureInfo.InvariantCulture));
                json.WriteNumber("fromVersion", from);
                json.WriteNumber("toVersion", to);
                json.WritePropertyName("changes");
                json.WriteRawValue(Array(changes.WrittenSpan), skipInputValidation: true);
                json.WriteEndObject();
            }
            return new DownlinkBatch(from, to, buffer.WrittenMemory);
        }, cancellationToken);

    /// <summary>"a,b,c," → "[a,b,c]".</summary>
    private static byte[] Array(ReadOnlySpan<byte> items)
    {
        var result = new byte[items.Length + 1];
        result[0] = (byte)'[';
        items[..^1].CopyTo(result.AsSpan(1));
        result[^1] = (byte)']';
        return result;
    }
}
