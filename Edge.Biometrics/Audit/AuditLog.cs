using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Kezekshi.Edge.Biometrics.Storage;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Biometrics.Audit;

/// <summary>One thing that happened to a template or photo: who did it, why, what, to whom.</summary>
/// <param name="Actor">The operator's login, or <c>service</c> for the agent itself.</param>
/// <param name="Purpose">Why: a <see cref="BiometricPurpose"/> name or an administrative reason (enrolment, revocation, retention, index-load).</param>
/// <param name="Action">What: enrol, read, load, delete, photo-keep, photo-read.</param>
/// <param name="Subject">Whose: <c>pupil:123</c>, or <c>all</c> for the start-up load.</param>
/// <param name="Detail">Template ids, counts, model: never the template itself.</param>
public sealed record AuditEntry(string Actor, string Purpose, string Action, string Subject, string Detail);

/// <summary>A stored audit row with its place in the chain.</summary>
public sealed record AuditRecord(long Seq, DateTimeOffset At, AuditEntry Entry, string PreviousHash, string Hash);

/// <summary>The result of checking the chain: intact, or the first row that does not fit and why.</summary>
public sealed record AuditVerification(bool IsIntact, long EntriesChecked, long? FirstBrokenSeq, string Message);

/// <summary>
/// The append-only, hash-chained audit log in biometrics.db. Each row's hash is SHA-256 over its own
/// fields and the previous row's hash, so editing, deleting or reordering any row breaks every link
/// after it; <see cref="Verify"/> finds the first broken one.
/// </summary>
/// <remarks>
/// Triggers refuse UPDATE and DELETE on the table; the chain catches what they cannot (someone with
/// the file dropping the triggers, or editing pages directly). Appends run inside the caller's
/// transaction, so a change and its audit row commit together or not at all.
/// </remarks>
public sealed class AuditLog
{
    /// <summary>The previous hash of the first row.</summary>
    public const string GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

    private readonly BiometricsDatabase _database;
    private readonly TimeProvider _time;

    public AuditLog(BiometricsDatabase database, TimeProvider? time = null)
    {
        _database = database;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Appends one entry in its own transaction.</summary>
    public long Append(AuditEntry entry)
    {
        using var connection = _database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        long seq = Append(connection, transaction, entry);
        transaction.Commit();
        return seq;
    }

    /// <summary>Appends one entry inside the caller's (immediate) transaction.</summary>
    internal long Append(SqliteConnection connection, SqliteTransaction transaction, AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        using var last = connection.CreateCommand();
        last.Transaction = transaction;
        last.CommandText = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";
        long seq = 1;
        string previous = GenesisHash;
        using (var reader = last.ExecuteReader())
        {
            if (reader.Read())
            {
                seq = reader.GetInt64(0) + 1;
                previous = reader.GetString(1);
            }
        }
        string at = _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        string hash = Hash(seq, at, entry, previous);
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO audit_log (seq, at, actor, purpose, action, subject, detail, prev_hash, hash)
            VALUES ($seq, $at, $actor, $purpose, $action, $subject, $detail, $prev, $hash)
            """;
        insert.Parameters.AddWithValue("$seq", seq);
        insert.Parameters.AddWithValue("$at", at);
        insert.Parameters.AddWithValue("$actor", entry.Actor);
        insert.Parameters.AddWithValue("$purpose", entry.Purpose);
        insert.Parameters.AddWithValue("$action", entry.Action);
        insert.Parameters.AddWithValue("$subject", entry.Subject);
        insert.Parameters.AddWithValue("$detail", entry.Detail);
        insert.Parameters.AddWithValue("$prev", previous);
        insert.Parameters.AddWithValue("$hash", hash);
        insert.ExecuteNonQuery();
        return seq;
    }

    /// <summary>Rows after <paramref name="afterSeq"/>, oldest first.</summary>
    public IReadOnlyList<AuditRecord> Read(long afterSeq = 0, int max = 1000)
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, at, actor, purpose, action, subject, detail, prev_hash, hash FROM audit_log WHERE seq > $after ORDER BY seq LIMIT $max";
        command.Parameters.AddWithValue("$after", afterSeq);
        command.Parameters.AddWithValue("$max", max);
        using var reader = command.ExecuteReader();
        var rows = new List<AuditRecord>();
        while (reader.Read())
            rows.Add(new AuditRecord(reader.GetInt64(0), DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture),
                new AuditEntry(reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6)),
                reader.GetString(7), reader.GetString(8)));
        return rows;
    }

    /// <summary>Walks the whole chain and reports the first row whose link or hash does not fit.</summary>
    public AuditVerification Verify()
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, at, actor, purpose, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq";
        using var reader = command.ExecuteReader();
        string previous = GenesisHash;
        long expectedSeq = 1;
        long checkedCount = 0;
        while (reader.Read())
        {
            long seq = reader.GetInt64(0);
            var entry = new AuditEntry(reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6));
            string stored = reader.GetString(8);
            if (seq != expectedSeq)
                return Broken(checkedCount, expectedSeq, $"row {expectedSeq} is missing (the next row is {seq}): rows were deleted");
            if (!string.Equals(reader.GetString(7), previous, StringComparison.Ordinal))
                return Broken(checkedCount, seq, $"row {seq} does not link to row {seq - 1}: a row was changed, removed or inserted");
            if (!string.Equals(Hash(seq, reader.GetString(1), entry, previous), stored, StringComparison.Ordinal))
                return Broken(checkedCount, seq, $"row {seq} does not match its hash: its content was changed");
            previous = stored;
            expectedSeq++;
            checkedCount++;
        }
        return new AuditVerification(true, checkedCount, null, $"audit log intact: {checkedCount} entries");
    }

    private static AuditVerification Broken(long checkedCount, long seq, string why) =>
        new(false, checkedCount, seq, $"audit log BROKEN at {why}. Keep the file as evidence (copy biometrics.db aside) and tell the data-protection officer.");

    private static string Hash(long seq, string at, AuditEntry entry, string previous)
    {
        // Length-prefixed fields: no value can be shifted into its neighbour to forge a match.
        var text = new StringBuilder();
        foreach (string field in new[] { seq.ToString(CultureInfo.InvariantCulture), at, entry.Actor, entry.Purpose, entry.Action, entry.Subject, entry.Detail, previous })
            text.Append(field.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(field).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
