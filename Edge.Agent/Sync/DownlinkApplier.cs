using System.Globalization;
using System.Text.Json;
using Kezekshi.Edge.Agent.Store;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Sync;

/// <summary>One versioned change from the centre (docs/sync-protocol.md §5.1).</summary>
public sealed record DownlinkChange(long Version, string Kind, int SchemaVersion, JsonElement Data);

/// <summary>Thrown by a handler when a change cannot be applied as sent (a missing field, an unknown holder): the change is
/// recorded as rejected with this reason, reported to the centre, and the stream goes on.</summary>
public sealed class DownlinkRejection : Exception
{
    public DownlinkRejection() { }
    public DownlinkRejection(string message) : base(message) { }
    public DownlinkRejection(string message, Exception inner) : base(message, inner) { }
}

/// <summary>What a handler works with: the open transaction that also records the applied version, and the clock.</summary>
public sealed class DownlinkContext(SqliteConnection connection, SqliteTransaction transaction, DateTimeOffset now, List<PurgeReport>? purged = null)
{
    private readonly List<PurgeReport> _purged = purged ?? [];

    public SqliteConnection Connection { get; } = connection;
    public SqliteTransaction Transaction { get; } = transaction;
    public DateTimeOffset Now { get; } = now;
    internal IReadOnlyList<PurgeReport> Purged => _purged;

    /// <summary>Tells the centre, in the acknowledgement, that templates were purged because a consent was revoked.</summary>
    public void ReportPurge(string consentId, int templates) => _purged.Add(new PurgeReport(consentId, templates, Now));

    public SqliteCommand Command(string sql)
    {
        var command = Connection.CreateCommand();
        command.Transaction = Transaction;
        command.CommandText = sql;
        return command;
    }
}

/// <summary>A purge confirmation reported in <c>up/acks</c>.</summary>
public sealed record PurgeReport(string ConsentId, int Templates, DateTimeOffset At);

/// <summary>
/// Applies one or more kinds of downlink change. Handlers must be idempotent by the change's natural key (a re-sent
/// change is skipped by version, but a handler that writes outside the given transaction — another database — may see
/// a change again after a crash between its write and the version's commit).
/// </summary>
public interface IDownlinkHandler
{
    IReadOnlyCollection<string> Kinds { get; }

    /// <summary>The highest <c>schemaVersion</c> of its kinds this handler understands.</summary>
    int SchemaVersion => 1;

    /// <summary>
    /// True for a handler that writes through its own service and transaction (the canteen ledger, the biometric store):
    /// the inbox commits what it applied so far, lets the handler run, then records the version. Such a handler must be
    /// idempotent by the change's natural key and must not use the context's connection.
    /// </summary>
    bool OwnTransaction => false;

    void Apply(DownlinkChange change, DownlinkContext context);
}

/// <summary>How a downlink message was handled.</summary>
public enum DownlinkStatus
{
    /// <summary>New changes were applied (some may have been rejected); acknowledge.</summary>
    Applied,

    /// <summary>Every change was applied before (a re-send); acknowledge again so the centre stops re-sending.</summary>
    AlreadyApplied,

    /// <summary>The message starts after a version not yet applied: ask the centre to re-send (hello).</summary>
    Gap,

    /// <summary>Not a valid change message for this school: ignored, logged.</summary>
    Malformed,
}

/// <summary>The result of one downlink message.</summary>
public sealed record DownlinkOutcome(DownlinkStatus Status, long AppliedVersion, IReadOnlyList<(long Version, string Reason)> Rejected,
    IReadOnlyList<PurgeReport> Purged, string? Problem = null)
{
    public int AppliedChanges { get; init; }
}

/// <summary>
/// The edge inbox (docs/sync-protocol.md §5): applies the centre's change batches strictly in version order, each
/// change and the new applied version in one SQLite transaction (a savepoint per change, so a rejected change rolls
/// back alone), skips what was applied before, and never applies past a gap — except to a batch that starts with
/// <c>snapshot.begin</c>, which carries the whole state and so supersedes the versions before it (§5.4). A snapshot's key lists
/// (<c>snapshot.keys</c>) are always applied (<see cref="SnapshotHandlers"/>), and its <c>snapshot.end</c> reaches the handlers
/// only with every part and count checked and the lists assembled. A change no handler knows, of a newer
/// schema, or that fails validation is stored in <c>inbox_rejections</c> and reported; the stream goes on.
/// </summary>
public sealed class DownlinkApplier
{
    public const int EnvelopeSchemaVersion = 1;

    /// <summary>The kind that may start a batch above the applied version: a snapshot supersedes every version before it.</summary>
    public const string SnapshotBegin = "snapshot.begin";

    /// <summary>Most changes one message may carry (docs/sync-protocol.md §3).</summary>
    public const int MaxChanges = 1000;

    private readonly EdgeDatabase _database;
    private readonly Dictionary<string, List<IDownlinkHandler>> _handlers = new(StringComparer.Ordinal);
    private readonly string _school;
    private readonly string _region;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public DownlinkApplier(EdgeDatabase database, IEnumerable<IDownlinkHandler> handlers, string school, string region, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(handlers);
        _database = database;
        _school = school;
        _region = region;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        // The snapshot key lists are part of the protocol, not of a module: always applied, first (§5.4).
        foreach (var handler in handlers.OfType<SnapshotHandlers>().Any() ? handlers : [new SnapshotHandlers(), .. handlers])
            foreach (string kind in handler.Kinds)
            {
                if (!_handlers.TryGetValue(kind, out var list)) _handlers[kind] = list = [];
                list.Add(handler);
            }
    }

    /// <summary>Kinds this edge can apply, for <c>hello.supports</c>.</summary>
    public IReadOnlyCollection<string> Kinds => _handlers.Keys;

    /// <summary>The key pair templates from other schools are sealed for (hello's <c>templateKey</c>), or null when none is received here.</summary>
    public Kezekshi.Edge.Biometrics.Storage.SchoolKeyPair? TemplateKeys =>
        _handlers.Values.SelectMany(h => h).OfType<ITemplateKeyAdvertiser>().Select(h => h.TemplateKeys).FirstOrDefault(k => k is not null);

    /// <summary>Raised after a transaction that applied at least one change committed (the gate reloads its snapshot).</summary>
    public event Action? ChangesApplied;

    /// <summary>The highest version applied, as stored.</summary>
    public long AppliedVersion()
    {
        using var connection = _database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT applied_version FROM sync_state WHERE id = 1";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>Applies one <c>down/changes</c> message. Never throws on bad input; a store failure propagates (nothing of the message is kept).</summary>
    public DownlinkOutcome Apply(ReadOnlySpan<byte> payload)
    {
        List<DownlinkChange> changes;
        long from, to;
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 32 });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            return Malformed($"not JSON ({e.Message})");
        }
        using (document)
        {
            string? problem = ReadEnvelope(document.RootElement, out from, out to, out changes);
            if (problem is not null) return Malformed(problem);
            return ApplyChanges(from, to, changes);
        }
    }

    private DownlinkOutcome Malformed(string problem)
    {
        SyncLog.MalformedChanges(_logger, problem);
        return new DownlinkOutcome(DownlinkStatus.Malformed, AppliedVersion(), [], [], problem);
    }

    private string? ReadEnvelope(JsonElement root, out long from, out long to, out List<DownlinkChange> changes)
    {
        from = to = 0;
        changes = [];
        if (root.ValueKind != JsonValueKind.Object) return "not a JSON object";
        if (!root.TryGetProperty("schemaVersion", out var sv) || !sv.TryGetInt32(out int schemaVersion)) return "no schemaVersion";
        if (schemaVersion != EnvelopeSchemaVersion) return $"envelope schemaVersion {schemaVersion} is not supported (this agent reads {EnvelopeSchemaVersion}): upgrade the agent";
        if (!root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "changes") return "type is not \"changes\"";
        if (!root.TryGetProperty("school", out var school) || school.ValueKind != JsonValueKind.String || school.GetString() != _school) return "addressed to another school";
        if (!root.TryGetProperty("region", out var region) || region.ValueKind != JsonValueKind.String || region.GetString() != _region) return "addressed to another region";
        if (!root.TryGetProperty("fromVersion", out var f) || !f.TryGetInt64(out from) || from < 1) return "no valid fromVersion";
        if (!root.TryGetProperty("toVersion", out var t) || !t.TryGetInt64(out to) || to < from) return "no valid toVersion";
        if (!root.TryGetProperty("changes", out var list) || list.ValueKind != JsonValueKind.Array) return "no changes array";
        if (list.GetArrayLength() != to - from + 1 || list.GetArrayLength() > MaxChanges) return $"changes hold {list.GetArrayLength()} items for versions {from}–{to}";
        long expected = from;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object
                || !item.TryGetProperty("version", out var v) || !v.TryGetInt64(out long version) || version != expected)
                return $"change {expected} is missing or out of order";
            if (!item.TryGetProperty("kind", out var kind) || kind.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(kind.GetString()))
                return $"change {version} has no kind";
            int changeSchema = item.TryGetProperty("schemaVersion", out var cs) && cs.TryGetInt32(out int c) ? c : 0;
            var data = item.TryGetProperty("data", out var d) ? d.Clone() : default;
            changes.Add(new DownlinkChange(version, kind.GetString()!, changeSchema, data));
            expected++;
        }
        return null;
    }

    private DownlinkOutcome ApplyChanges(long from, long to, List<DownlinkChange> changes)
    {
        var now = _time.GetUtcNow();
        var rejected = new List<(long, string)>();
        using var connection = _database.Connect();
        var transaction = connection.BeginTransaction();
        long applied = ReadApplied(connection, transaction);
        if (from > applied + 1 && to > applied && changes[0].Kind == SnapshotBegin)
        {
            // A snapshot is the school's whole state as of its begin: the versions before it need not be applied (§5.4).
            DownlinkLog.SnapshotJump(_logger, from, applied);
            applied = from - 1;
        }
        if (from > applied + 1 || to <= applied)
        {
            transaction.Dispose();
            if (to <= applied) return new DownlinkOutcome(DownlinkStatus.AlreadyApplied, applied, [], []);
            SyncLog.DownlinkGap(_logger, from, applied);
            return new DownlinkOutcome(DownlinkStatus.Gap, applied, [], []);
        }

        var purged = new List<PurgeReport>();
        var context = new DownlinkContext(connection, transaction, now, purged);
        int count = 0;
        foreach (var change in changes)
        {
            if (change.Version <= applied) continue;
            string? reason = null;
            var effective = change;
            if (change.Kind == SnapshotHandlers.End)
            {
                // The full key lists from the stored snapshot.keys parts, read in this transaction before any handler runs;
                // a missing part or a wrong count rejects the end and nothing is removed.
                try
                {
                    effective = SnapshotHandlers.Complete(change, context);
                }
                catch (DownlinkRejection e)
                {
                    reason = $"invalid: {e.Message}";
                }
            }
            if (reason is null && _handlers.TryGetValue(change.Kind, out var own) && own.Any(h => h.OwnTransaction))
            {
                // Commit what is applied so far, so the handler's own transaction is not blocked by ours.
                SetApplied(context, applied);
                transaction.Commit();
                transaction.Dispose();
                transaction = connection.BeginTransaction(deferred: true);
                context = new DownlinkContext(connection, transaction, now, purged);
                reason = ApplyOutside(effective, own, context);
            }
            else if (reason is null)
            {
                reason = ApplyOne(effective, context);
            }
            if (change.Kind == SnapshotHandlers.End) SnapshotHandlers.Forget(change, context);
            if (reason is not null)
            {
                rejected.Add((change.Version, reason));
                using var reject = context.Command("""
                    INSERT INTO inbox_rejections(version, kind, reason, data, received_at) VALUES ($v, $k, $r, $d, $at)
                    ON CONFLICT(version) DO UPDATE SET reason = excluded.reason
                    """);
                reject.Parameters.AddWithValue("$v", change.Version);
                reject.Parameters.AddWithValue("$k", change.Kind);
                reject.Parameters.AddWithValue("$r", reason);
                reject.Parameters.AddWithValue("$d", change.Data.ValueKind == JsonValueKind.Undefined ? "null" : change.Data.GetRawText());
                reject.Parameters.AddWithValue("$at", now.ToString("O", CultureInfo.InvariantCulture));
                reject.ExecuteNonQuery();
                SyncLog.ChangeRejected(_logger, change.Version, change.Kind, reason);
            }
            applied = change.Version;
            count++;
        }
        SetApplied(context, applied);
        transaction.Commit();
        transaction.Dispose();
        ChangesApplied?.Invoke();
        return new DownlinkOutcome(DownlinkStatus.Applied, applied, rejected, purged) { AppliedChanges = count };
    }

    private static void SetApplied(DownlinkContext context, long applied)
    {
        using var update = context.Command("UPDATE sync_state SET applied_version = $v WHERE id = 1");
        update.Parameters.AddWithValue("$v", applied);
        update.ExecuteNonQuery();
    }

    /// <summary>Why no handler of <paramref name="handlers"/> can take this change (a newer schema, no data object), or null.</summary>
    private static string? CannotApply(DownlinkChange change, List<IDownlinkHandler> handlers)
    {
        foreach (var handler in handlers)
            if (change.SchemaVersion < 1 || change.SchemaVersion > handler.SchemaVersion)
                return $"unsupported-schema: {change.Kind} v{change.SchemaVersion} (this agent reads up to v{handler.SchemaVersion})";
        return change.Data.ValueKind == JsonValueKind.Object ? null : "invalid: data is not an object";
    }

    /// <summary>Runs handlers that keep their own transaction; returns the rejection reason, or null when applied.</summary>
    private static string? ApplyOutside(DownlinkChange change, List<IDownlinkHandler> handlers, DownlinkContext context)
    {
        if (CannotApply(change, handlers) is { } reason) return reason;
        try
        {
            foreach (var handler in handlers) handler.Apply(change, context);
            return null;
        }
        catch (DownlinkRejection e)
        {
            return $"invalid: {e.Message}";
        }
    }

    /// <summary>Applies one change under a savepoint; returns the rejection reason, or null when applied.</summary>
    private string? ApplyOne(DownlinkChange change, DownlinkContext context)
    {
        if (!_handlers.TryGetValue(change.Kind, out var handlers)) return $"unknown-kind: {change.Kind} (this agent does not apply it; upgrade the agent or enable the module)";
        if (CannotApply(change, handlers) is { } reason) return reason;

        using (var savepoint = context.Command("SAVEPOINT change")) savepoint.ExecuteNonQuery();
        try
        {
            foreach (var handler in handlers) handler.Apply(change, context);
            using var release = context.Command("RELEASE change");
            release.ExecuteNonQuery();
            return null;
        }
        catch (Exception e) when (e is DownlinkRejection or SqliteException { SqliteErrorCode: 19 } or InvalidOperationException or FormatException)
        {
            // 19 = SQLITE_CONSTRAINT: e.g. a pupil in a class this school never received.
            using (var rollback = context.Command("ROLLBACK TO change")) rollback.ExecuteNonQuery();
            using (var release = context.Command("RELEASE change")) release.ExecuteNonQuery();
            return e is DownlinkRejection ? $"invalid: {e.Message}" : $"invalid: {e.Message.Replace("SQLite Error 19: ", "", StringComparison.Ordinal)}";
        }
    }

    private static long ReadApplied(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT applied_version FROM sync_state WHERE id = 1";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}

/// <summary>Reading the fields of a change's <c>data</c>: a missing or wrong field becomes a <see cref="DownlinkRejection"/> naming it.</summary>
public static class DownlinkData
{
    public static long Long(this DownlinkChange change, string name) =>
        change.Data.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long value)
            ? value
            : throw new DownlinkRejection($"{change.Kind}.{name} is missing or not an integer");

    public static string String(this DownlinkChange change, string name, int maxLength = 4096)
    {
        if (!change.Data.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(v.GetString()))
            throw new DownlinkRejection($"{change.Kind}.{name} is missing or empty");
        string value = v.GetString()!;
        return value.Length <= maxLength ? value : throw new DownlinkRejection($"{change.Kind}.{name} is longer than {maxLength} characters");
    }

    public static string? OptionalString(this DownlinkChange change, string name) =>
        change.Data.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static string OneOf(this DownlinkChange change, string name, params string[] allowed)
    {
        string value = change.String(name);
        return allowed.Contains(value, StringComparer.Ordinal)
            ? value
            : throw new DownlinkRejection($"{change.Kind}.{name} is \"{value}\"; expected one of {string.Join(", ", allowed)}");
    }
}
