using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Kezekshi.Edge.Agent.Gate;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Store;

/// <summary>
/// The single writer of passages: each passage, the presence change it causes and its outbox event
/// go into SQLite in one transaction (the outbox pattern), committed with synchronous=FULL.
/// Passages queued while a commit is in progress are written together in the next one (group commit),
/// so a morning rush costs one fsync per batch, not per child.
/// </summary>
public sealed class PassageRecorder : IAsyncDisposable
{
    /// <summary>Version of the passage event payload in the outbox.</summary>
    public const int PassageEventSchemaVersion = 1;

    private readonly EdgeDatabase _database;
    private readonly ActuationJournal? _journal;
    private readonly ILogger _logger;
    private readonly Channel<(Passage Passage, TaskCompletionSource? Done)> _queue =
        Channel.CreateUnbounded<(Passage, TaskCompletionSource?)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    public PassageRecorder(EdgeDatabase database, ActuationJournal? journal, ILogger logger)
    {
        _database = database;
        _journal = journal;
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Passages written since start.</summary>
    public long Written => Interlocked.Read(ref _written);
    private long _written;

    /// <summary>Queues a completed passage; returns at once (the gate never waits for the disk).</summary>
    public void Enqueue(Passage passage) => _queue.Writer.TryWrite((passage, null));

    /// <summary>Queues a passage and completes when it is committed to disk.</summary>
    public Task RecordAsync(Passage passage)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((passage, done))) done.SetException(new InvalidOperationException("The passage recorder is stopped."));
        return done.Task;
    }

    /// <summary>Stores journal entries left by an unclean stop that never became passages.</summary>
    public int RecoverFromJournal(IReadOnlyList<Passage> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0) return 0;
        using var connection = _database.Connect();
        var missing = new List<Passage>();
        using (var check = connection.CreateCommand())
        {
            check.CommandText = "SELECT 1 FROM passages WHERE passage_uid = $u";
            var uid = check.Parameters.Add("$u", SqliteType.Text);
            foreach (var entry in entries)
            {
                uid.Value = entry.Uid;
                if (check.ExecuteScalar() is null) missing.Add(entry);
            }
        }
        if (missing.Count > 0) WriteBatch(connection, missing);
        return missing.Count;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<(Passage Passage, TaskCompletionSource? Done)>(256);
        SqliteConnection? connection = null;
        try
        {
            while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < 500 && _queue.Reader.TryRead(out var item)) batch.Add(item);
                if (batch.Count == 0) continue;
                while (true)
                {
                    try
                    {
                        connection ??= _database.Connect();
                        WriteBatch(connection, batch.Select(b => b.Passage).ToList());
                        Interlocked.Add(ref _written, batch.Count);
                        _journal?.Committed(batch.Count(b => b.Passage.Journaled));
                        foreach (var (_, done) in batch) done?.TrySetResult();
                        break;
                    }
                    catch (Exception e) when (e is SqliteException or StoreException)
                    {
                        // Disk full, locked, I/O error: keep the batch in memory (the journal has it too) and retry,
                        // so nothing is lost; the gates go on working meanwhile.
                        var error = e is SqliteException se ? _database.Translate(se, "writing passages to") : (StoreException)e;
                        AgentLog.PassageWriteFailed(_logger, batch.Count, error.Message);
                        connection?.Dispose();
                        connection = null;
                        await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                    }
                }
            }
        }
        finally
        {
            connection?.Dispose();
        }
    }

    private static void WriteBatch(SqliteConnection connection, List<Passage> passages)
    {
        using var transaction = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO passages(passage_uid, gate, direction, card_number, holder_kind, holder_id, decision, reason, outcome, decided_at, completed_at, latency_us, manual_by, note, credential, camera)
            VALUES ($uid, $gate, $dir, $card, $hk, $hid, $decision, $reason, $outcome, $decided, $completed, $latency, $manual, $note, $credential, $camera)
            ON CONFLICT(passage_uid) DO NOTHING
            """;
        var p = new Dictionary<string, SqliteParameter>();
        foreach (var name in new[] { "$uid", "$gate", "$dir", "$card", "$hk", "$hid", "$decision", "$reason", "$outcome", "$decided", "$completed", "$latency", "$manual", "$note", "$credential", "$camera" })
            p[name] = insert.Parameters.Add(name, SqliteType.Text);

        using var presence = connection.CreateCommand();
        presence.Transaction = transaction;
        presence.CommandText = """
            INSERT INTO presence(holder_kind, holder_id, inside, last_gate, last_at) VALUES ($hk, $hid, $inside, $gate, $at)
            ON CONFLICT(holder_kind, holder_id) DO UPDATE SET inside = excluded.inside, last_gate = excluded.last_gate, last_at = excluded.last_at
            """;
        var phk = presence.Parameters.Add("$hk", SqliteType.Text);
        var phid = presence.Parameters.Add("$hid", SqliteType.Integer);
        var pin = presence.Parameters.Add("$inside", SqliteType.Integer);
        var pgate = presence.Parameters.Add("$gate", SqliteType.Text);
        var pat = presence.Parameters.Add("$at", SqliteType.Text);

        using var outbox = connection.CreateCommand();
        outbox.Transaction = transaction;
        outbox.CommandText = "INSERT INTO outbox(event_type, schema_version, payload, created_at) VALUES ('passage', $v, $payload, $at)";
        outbox.Parameters.AddWithValue("$v", PassageEventSchemaVersion);
        var opayload = outbox.Parameters.Add("$payload", SqliteType.Text);
        var oat = outbox.Parameters.Add("$at", SqliteType.Text);

        foreach (var passage in passages)
        {
            string decided = passage.DecidedAt.ToString("O", CultureInfo.InvariantCulture);
            string? completed = passage.CompletedAt?.ToString("O", CultureInfo.InvariantCulture);
            p["$uid"].Value = passage.Uid;
            p["$gate"].Value = passage.Gate;
            p["$dir"].Value = Passage.DirectionCode(passage.Direction);
            p["$card"].Value = passage.CardNumber is { } card ? (long)card : DBNull.Value;
            p["$hk"].Value = passage.Holder is { } h ? AccessRepository.FormatHolderKind(h.Kind) : DBNull.Value;
            p["$hid"].Value = passage.Holder is { } h2 ? h2.Id : DBNull.Value;
            p["$decision"].Value = passage.Decision.Granted ? "granted" : "denied";
            p["$reason"].Value = GateDecision.ReasonCode(passage.Decision.Reason);
            p["$outcome"].Value = Passage.OutcomeCode(passage.Outcome);
            p["$decided"].Value = decided;
            p["$completed"].Value = (object?)completed ?? DBNull.Value;
            p["$latency"].Value = passage.LatencyMicroseconds is { } l ? l : DBNull.Value;
            p["$manual"].Value = passage.ManualByStaffId is { } m ? m : DBNull.Value;
            p["$note"].Value = (object?)passage.Note ?? DBNull.Value;
            p["$credential"].Value = (object?)Passage.CredentialCode(passage.Credential) ?? DBNull.Value;
            p["$camera"].Value = (object?)passage.CameraId ?? DBNull.Value;
            if (insert.ExecuteNonQuery() == 0) continue; // already stored (journal recovery after a commit)

            if (passage.Holder is { } holder && passage.Outcome is PassageOutcome.Passed or PassageOutcome.FreePass)
            {
                phk.Value = AccessRepository.FormatHolderKind(holder.Kind);
                phid.Value = holder.Id;
                pin.Value = passage.Direction == Direction.Entry ? 1 : 0;
                pgate.Value = passage.Gate;
                pat.Value = completed ?? decided;
                presence.ExecuteNonQuery();
            }

            opayload.Value = JsonSerializer.Serialize(new PassageEvent(
                PassageEventSchemaVersion, passage.Uid, passage.Gate, Passage.DirectionCode(passage.Direction),
                passage.Holder is { } eh ? AccessRepository.FormatHolderKind(eh.Kind) : null, passage.Holder?.Id,
                passage.Decision.Granted ? "granted" : "denied", GateDecision.ReasonCode(passage.Decision.Reason),
                Passage.OutcomeCode(passage.Outcome), decided, completed, passage.ManualByStaffId, Passage.CredentialCode(passage.Credential)), AgentJsonContext.Default.PassageEvent);
            oat.Value = decided;
            outbox.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }
}

/// <summary>The outbox payload of a passage (schema version 1). No card number, no name: the centre needs the holder's ID only.</summary>
/// <param name="Credential">"card", "face", or null for a manual pass: lets the centre tell biometric entries apart (what a data-protection officer asks for). Optional within schema 1: a centre that does not read it keeps it in the stored payload.</param>
public sealed record PassageEvent(int SchemaVersion, string Uid, string Gate, string Direction, string? HolderKind, long? HolderId,
    string Decision, string Reason, string Outcome, string DecidedAt, string? CompletedAt, long? ManualBy, string? Credential = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(PassageEvent))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
