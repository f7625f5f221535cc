using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Agent.Ledgers;

/// <summary>
/// Appends a ledger event to the outbox inside the caller's transaction, so the ledger row and the event that
/// tells the centre about it are committed (synchronous=FULL) or lost together (CONVENTIONS, Data).
/// </summary>
internal static class LedgerOutbox
{
    public static void Append(SqliteConnection connection, SqliteTransaction transaction, string eventType, int schemaVersion, string payload, DateTimeOffset at) =>
        LedgerSql.Exec(connection, transaction,
            "INSERT INTO outbox(event_type, schema_version, payload, created_at) VALUES ($t, $v, $p, $at)",
            ("$t", eventType), ("$v", schemaVersion), ("$p", payload), ("$at", LedgerSql.Time(at)));
}
