namespace Kezekshi.Edge.Biometrics.Storage;

/// <summary>
/// The schema of <c>biometrics.db</c>, as ordered migrations of its own (it is versioned apart from
/// the agent's edge.db). A released migration is never edited: a change is a new migration.
/// </summary>
internal static class Migrations
{
    public static readonly IReadOnlyList<(int Version, string Name, string Sql)> All =
    [
        (1, "templates, photos, look-alikes, consents, objections, deletion receipts, outgoing events, audit log", """
            -- A template is stored only encrypted (AES-GCM): nonce, ciphertext and tag; the AAD binds it to pupil, id and model.
            CREATE TABLE templates (
                id            INTEGER PRIMARY KEY AUTOINCREMENT,
                pupil_id      INTEGER NOT NULL,
                modality      INTEGER NOT NULL CHECK (modality IN (1, 2)),
                model_id      TEXT NOT NULL,
                dimensions    INTEGER NOT NULL CHECK (dimensions > 0),
                nonce         BLOB NOT NULL,
                ciphertext    BLOB NOT NULL,
                tag           BLOB NOT NULL,
                quality       REAL NOT NULL,
                enrolled_at   TEXT NOT NULL,
                enrolled_by   TEXT NOT NULL,
                last_used_at  TEXT NOT NULL
            );
            CREATE INDEX templates_by_pupil ON templates (pupil_id);
            -- Enrolment photos, kept (encrypted) only when Biometrics:KeepRawImages is on.
            CREATE TABLE photos (
                id            INTEGER PRIMARY KEY AUTOINCREMENT,
                pupil_id      INTEGER NOT NULL,
                template_id   INTEGER REFERENCES templates(id) ON DELETE CASCADE,
                width         INTEGER NOT NULL,
                height        INTEGER NOT NULL,
                channels      INTEGER NOT NULL,
                nonce         BLOB NOT NULL,
                ciphertext    BLOB NOT NULL,
                tag           BLOB NOT NULL,
                kept_at       TEXT NOT NULL
            );
            CREATE INDEX photos_by_pupil ON photos (pupil_id);
            -- Pairs of pupils too alike to tell apart by face (twins, siblings): both need a second factor.
            CREATE TABLE look_alikes (
                pupil_a       INTEGER NOT NULL,
                pupil_b       INTEGER NOT NULL,
                model_id      TEXT NOT NULL,
                score         REAL NOT NULL,
                PRIMARY KEY (pupil_a, pupil_b, model_id),
                CHECK (pupil_a < pupil_b)
            );
            -- One row per pupil per guardian per signed form. purposes is a BiometricPurpose bit mask.
            CREATE TABLE consents (
                id              INTEGER PRIMARY KEY AUTOINCREMENT,
                pupil_id        INTEGER NOT NULL,
                guardian_id     TEXT NOT NULL,
                guardian_name   TEXT NOT NULL,
                given_at        TEXT NOT NULL,
                document_sha256 TEXT NOT NULL CHECK (length(document_sha256) = 64),
                purposes        INTEGER NOT NULL CHECK (purposes > 0 AND purposes < 32),
                expires_at      TEXT NOT NULL,
                operator        TEXT NOT NULL,
                no_cross_border INTEGER NOT NULL CHECK (no_cross_border IN (0, 1)),
                recorded_at     TEXT NOT NULL,
                withdrawn_at    TEXT
            );
            CREATE INDEX consents_by_pupil ON consents (pupil_id);
            -- An objection by any guardian or by the pupil blocks every purpose until it is lifted.
            CREATE TABLE objections (
                id            INTEGER PRIMARY KEY AUTOINCREMENT,
                pupil_id      INTEGER NOT NULL,
                by_pupil      INTEGER NOT NULL CHECK (by_pupil IN (0, 1)),
                guardian_id   TEXT,
                recorded_at   TEXT NOT NULL,
                operator      TEXT NOT NULL,
                note          TEXT NOT NULL,
                lifted_at     TEXT
            );
            CREATE INDEX objections_by_pupil ON objections (pupil_id);
            -- Proof of a deletion without keeping what was deleted: sha256 covers the deleted rows' ids and ciphertexts.
            CREATE TABLE deletion_receipts (
                id            INTEGER PRIMARY KEY AUTOINCREMENT,
                pupil_id      INTEGER NOT NULL,
                what          TEXT NOT NULL,
                reason        TEXT NOT NULL,
                deleted_at    TEXT NOT NULL,
                deleted_by    TEXT NOT NULL,
                sha256        TEXT NOT NULL
            );
            -- Events for the central server, written in the same transaction as the change (outbox); the agent drains them.
            CREATE TABLE outgoing_events (
                seq           INTEGER PRIMARY KEY AUTOINCREMENT,
                type          TEXT NOT NULL,
                pupil_id      INTEGER NOT NULL,
                payload       TEXT NOT NULL,
                created_at    TEXT NOT NULL,
                sent_at       TEXT
            );
            -- Append-only, hash-chained: hash = SHA-256 over this row's fields and the previous row's hash.
            CREATE TABLE audit_log (
                seq           INTEGER PRIMARY KEY,
                at            TEXT NOT NULL,
                actor         TEXT NOT NULL,
                purpose       TEXT NOT NULL,
                action        TEXT NOT NULL,
                subject       TEXT NOT NULL,
                detail        TEXT NOT NULL,
                prev_hash     TEXT NOT NULL,
                hash          TEXT NOT NULL
            );
            CREATE TRIGGER audit_log_is_append_only_update BEFORE UPDATE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
            CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
            """),
        (2, "templates received from other schools (docs/sync-protocol.md §5.3)", """
            -- The source school's template id of a template received through the centre: receiving the same one again
            -- (a change applied twice after a crash) is recognised, and template.delete finds it. The template itself is
            -- an ordinary row of templates, encrypted under this school's own key.
            CREATE TABLE received_templates (
                source_id      TEXT PRIMARY KEY,
                template_id    INTEGER NOT NULL,
                source_school  TEXT NOT NULL,
                received_at    TEXT NOT NULL
            );
            CREATE INDEX received_templates_template ON received_templates(template_id);
            """),
    ];
}
