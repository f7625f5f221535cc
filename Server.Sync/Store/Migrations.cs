namespace Kezekshi.Server.Sync.Store;

/// <summary>
/// The centre's PostgreSQL schema, as an ordered list of migrations. A migration is never edited once
/// released: a change is a new migration, so every centre database can be upgraded from any earlier version.
/// </summary>
/// <remarks>Tables follow docs/sync-protocol.md §4.4 (events, streams and watermarks), §5 (downlink versions) and §7 (dead letters).</remarks>
internal static class Migrations
{
    public static readonly IReadOnlyList<(int Version, string Name, string Sql)> All =
    [
        (1, "schools, streams, events, passages, dead letters, downlink changes", """
            CREATE TABLE schools (
                id                       TEXT PRIMARY KEY CHECK (id ~ '^[a-z0-9-]{3,40}$'),
                region                   TEXT NOT NULL CHECK (region ~ '^[a-z0-9-]{2,32}$'),
                name                     TEXT NOT NULL,
                last_seen                TIMESTAMPTZ,
                downlink_acked_version   BIGINT NOT NULL DEFAULT 0
            );
            -- One uplink seq space per (school, epoch); the watermark is the highest seq such that every seq <= it is stored.
            CREATE TABLE school_streams (
                school        TEXT NOT NULL REFERENCES schools(id),
                epoch         UUID NOT NULL,
                watermark     BIGINT NOT NULL DEFAULT 0 CHECK (watermark >= 0),
                max_seq_seen  BIGINT NOT NULL DEFAULT 0,
                first_seen    TIMESTAMPTZ NOT NULL DEFAULT now(),
                updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (school, epoch)
            );
            CREATE TABLE events (
                school          TEXT NOT NULL,
                epoch           UUID NOT NULL,
                seq             BIGINT NOT NULL CHECK (seq > 0),
                type            TEXT NOT NULL,
                schema_version  INTEGER NOT NULL,
                payload         JSONB NOT NULL,
                created_at      TIMESTAMPTZ,
                received_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (school, epoch, seq),
                FOREIGN KEY (school, epoch) REFERENCES school_streams(school, epoch)
            );
            CREATE TABLE passages (
                uid           TEXT PRIMARY KEY,
                school        TEXT NOT NULL REFERENCES schools(id),
                epoch         UUID NOT NULL,
                seq           BIGINT NOT NULL,
                gate          TEXT NOT NULL,
                direction     TEXT NOT NULL,
                holder_kind   TEXT,
                holder_id     BIGINT,
                decision      TEXT NOT NULL,
                reason        TEXT NOT NULL,
                outcome       TEXT NOT NULL,
                decided_at    TIMESTAMPTZ NOT NULL,
                completed_at  TIMESTAMPTZ,
                manual_by     BIGINT
            );
            CREATE INDEX passages_school_decided ON passages(school, decided_at);
            CREATE INDEX passages_holder ON passages(holder_kind, holder_id, decided_at) WHERE holder_id IS NOT NULL;
            CREATE TABLE dead_letters (
                id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
                topic        TEXT NOT NULL,
                school       TEXT,
                epoch        UUID,
                seq          BIGINT,
                reason       TEXT NOT NULL,
                detail       TEXT,
                payload      BYTEA NOT NULL CHECK (octet_length(payload) <= 65536),
                payload_size INTEGER NOT NULL
            );
            CREATE INDEX dead_letters_school ON dead_letters(school, received_at);
            CREATE UNIQUE INDEX dead_letters_event ON dead_letters(school, epoch, seq) WHERE seq IS NOT NULL;
            CREATE TABLE downlink_changes (
                school          TEXT NOT NULL REFERENCES schools(id),
                version         BIGINT NOT NULL CHECK (version > 0),
                type            TEXT NOT NULL,
                schema_version  INTEGER NOT NULL,
                payload         JSONB NOT NULL,
                created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (school, version)
            );
            """),
        (3, "school sessions: hello, downlink acknowledgements, rejections, purge confirmations", """
            ALTER TABLE schools ADD COLUMN last_hello TIMESTAMPTZ;
            ALTER TABLE schools ADD COLUMN agent_version TEXT;
            ALTER TABLE schools ADD COLUMN outbox_lag BIGINT NOT NULL DEFAULT 0;
            -- A change a school could not apply (it still counts as applied there, so its stream goes on).
            CREATE TABLE downlink_rejections (
                school       TEXT NOT NULL REFERENCES schools(id),
                version      BIGINT NOT NULL,
                reason       TEXT NOT NULL,
                reported_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (school, version)
            );
            -- A school's confirmation that it purged the templates of a revoked consent (deadline alarms come from this).
            CREATE TABLE purge_confirmations (
                school       TEXT NOT NULL REFERENCES schools(id),
                consent_id   TEXT NOT NULL,
                templates    INTEGER NOT NULL CHECK (templates >= 0),
                purged_at    TIMESTAMPTZ NOT NULL,
                received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (school, consent_id)
            );
            """),
    ];
}
