namespace Kezekshi.Edge.Agent.Store;

/// <summary>
/// The local store's schema, as an ordered list of migrations. A migration is never edited once
/// released: a change is a new migration, so every gate PC can be upgraded from any earlier version.
/// </summary>
internal static class Migrations
{
    public static readonly IReadOnlyList<(int Version, string Name, string Sql)> All =
    [
        (1, "school, people, credentials, schedules, gates, passages, outbox", """
            CREATE TABLE school (
                id            TEXT PRIMARY KEY,
                name          TEXT NOT NULL,
                time_zone     TEXT NOT NULL
            );
            CREATE TABLE classes (
                id            INTEGER PRIMARY KEY,
                name          TEXT NOT NULL UNIQUE,
                grade         INTEGER NOT NULL CHECK (grade BETWEEN 0 AND 12)
            );
            CREATE TABLE pupils (
                id            INTEGER PRIMARY KEY,
                class_id      INTEGER NOT NULL REFERENCES classes(id),
                full_name     TEXT NOT NULL,
                status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','left'))
            );
            CREATE TABLE staff (
                id            INTEGER PRIMARY KEY,
                full_name     TEXT NOT NULL,
                role          TEXT NOT NULL CHECK (role IN ('teacher','guard','canteen','office','it','service')),
                status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','left'))
            );
            CREATE TABLE visitors (
                id            INTEGER PRIMARY KEY,
                full_name     TEXT NOT NULL,
                purpose       TEXT NOT NULL,
                host_staff_id INTEGER REFERENCES staff(id),
                valid_from    TEXT NOT NULL,
                valid_until   TEXT NOT NULL
            );
            -- One row per physical card. holder_kind + holder_id point into pupils, staff or visitors.
            CREATE TABLE credentials (
                id            INTEGER PRIMARY KEY,
                card_number   INTEGER NOT NULL UNIQUE,
                holder_kind   TEXT NOT NULL CHECK (holder_kind IN ('pupil','staff','visitor')),
                holder_id     INTEGER NOT NULL,
                status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','blocked','lost')),
                issued_at     TEXT NOT NULL,
                note          TEXT
            );
            CREATE INDEX credentials_holder ON credentials(holder_kind, holder_id);
            -- Time windows when a class (pupils) or a role (staff) may pass. No row = any time.
            CREATE TABLE schedules (
                id            INTEGER PRIMARY KEY,
                applies_to    TEXT NOT NULL CHECK (applies_to IN ('class','role')),
                class_id      INTEGER REFERENCES classes(id),
                role          TEXT,
                weekday       INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
                from_time     TEXT NOT NULL,
                until_time    TEXT NOT NULL
            );
            CREATE TABLE holidays (
                day           TEXT PRIMARY KEY,
                name          TEXT NOT NULL
            );
            CREATE TABLE gates (
                id            INTEGER PRIMARY KEY,
                name          TEXT NOT NULL UNIQUE,
                anti_passback TEXT NOT NULL DEFAULT 'soft' CHECK (anti_passback IN ('off','soft','hard'))
            );
            CREATE TABLE gate_devices (
                gate_id       INTEGER NOT NULL REFERENCES gates(id),
                device_name   TEXT NOT NULL,
                profile       TEXT NOT NULL,
                port          TEXT NOT NULL,
                address       INTEGER,
                PRIMARY KEY (gate_id, device_name)
            );
            -- Direction mode by time of day: e.g. entry-only 07:30-08:30 during the morning rush.
            CREATE TABLE gate_direction_schedules (
                id            INTEGER PRIMARY KEY,
                gate_id       INTEGER NOT NULL REFERENCES gates(id),
                weekday       INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
                from_time     TEXT NOT NULL,
                until_time    TEXT NOT NULL,
                mode          TEXT NOT NULL CHECK (mode IN ('entry-only','exit-only','both'))
            );
            -- Every decision that reached a gate. Written after the relay command; the actuation
            -- journal covers the gap between the two (see ActuationJournal).
            CREATE TABLE passages (
                id            INTEGER PRIMARY KEY,
                passage_uid   TEXT NOT NULL UNIQUE,
                gate          TEXT NOT NULL,
                direction     TEXT NOT NULL CHECK (direction IN ('entry','exit')),
                card_number   INTEGER,
                holder_kind   TEXT,
                holder_id     INTEGER,
                decision      TEXT NOT NULL CHECK (decision IN ('granted','denied')),
                reason        TEXT NOT NULL,
                outcome       TEXT NOT NULL CHECK (outcome IN ('passed','not-passed','denied','unknown','free-pass')),
                decided_at    TEXT NOT NULL,
                completed_at  TEXT,
                latency_us    INTEGER,
                manual_by     INTEGER REFERENCES staff(id),
                note          TEXT
            );
            CREATE INDEX passages_holder ON passages(holder_kind, holder_id, decided_at);
            CREATE INDEX passages_decided ON passages(decided_at);
            -- Where each person is, for anti-passback; rebuilt from passages if lost.
            CREATE TABLE presence (
                holder_kind   TEXT NOT NULL,
                holder_id     INTEGER NOT NULL,
                inside        INTEGER NOT NULL,
                last_gate     TEXT NOT NULL,
                last_at       TEXT NOT NULL,
                PRIMARY KEY (holder_kind, holder_id)
            );
            -- Events waiting to be synced to the centre: immutable, numbered per school.
            CREATE TABLE outbox (
                seq           INTEGER PRIMARY KEY AUTOINCREMENT,
                event_type    TEXT NOT NULL,
                schema_version INTEGER NOT NULL,
                payload       TEXT NOT NULL,
                created_at    TEXT NOT NULL,
                acknowledged_at TEXT
            );
            """),
        (2, "sync state: epoch, uplink watermark, applied downlink version", """
            -- One row. The epoch is made when the database is created: a reinstalled gate PC starts a
            -- new one, so its restarted outbox seq is never taken for duplicates at the centre.
            CREATE TABLE sync_state (
                id              INTEGER PRIMARY KEY CHECK (id = 1),
                epoch           TEXT NOT NULL,
                watermark       INTEGER NOT NULL DEFAULT 0,
                applied_version INTEGER NOT NULL DEFAULT 0
            );
            -- A random (version 4) UUID in its usual 8-4-4-4-12 form, as the centre expects it.
            INSERT INTO sync_state(id, epoch) VALUES (1,
                lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-'
                || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))));
            CREATE INDEX outbox_unacknowledged ON outbox(seq) WHERE acknowledged_at IS NULL;
            """),
        (6, "local web UI: staff accounts and sessions", """
            -- People who sign in to the agent's web UI (till, library desk, office, IT console). Not pupils.
            -- password_hash is PBKDF2-HMAC-SHA256 with a per-account salt; iterations are stored so they can be raised later.
            CREATE TABLE web_accounts (
                id              INTEGER PRIMARY KEY,
                name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
                role            TEXT NOT NULL CHECK (role IN ('cashier','librarian','office','it-admin')),
                password_hash   BLOB NOT NULL,
                salt            BLOB NOT NULL,
                iterations      INTEGER NOT NULL,
                must_change_password INTEGER NOT NULL DEFAULT 1,
                failed_logins   INTEGER NOT NULL DEFAULT 0,
                locked_until    TEXT,
                disabled        INTEGER NOT NULL DEFAULT 0,
                created_at      TEXT NOT NULL,
                password_set_at TEXT NOT NULL
            );
            -- Signed-in browsers. Only the SHA-256 of the cookie value is stored, so a copy of the database opens no session.
            CREATE TABLE web_sessions (
                token_hash      BLOB PRIMARY KEY,
                account_id      INTEGER NOT NULL REFERENCES web_accounts(id) ON DELETE CASCADE,
                csrf_token      TEXT NOT NULL,
                created_at      TEXT NOT NULL,
                expires_at      TEXT NOT NULL,
                remote_address  TEXT
            );
            CREATE INDEX web_sessions_account ON web_sessions(account_id);
            """),
    ];
}
