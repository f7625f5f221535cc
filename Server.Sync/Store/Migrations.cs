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
        (2, "centre domain: classes, pupils, guardians, cards, consents, template placements, top-ups, feed versions", """
            -- The per-school downlink version counter (docs/sync-protocol.md §5.1): one row per school, bumped under its row
            -- lock in the transaction that writes the change, so versions are contiguous and never doubled.
            CREATE TABLE school_feeds (
                school   TEXT PRIMARY KEY REFERENCES schools(id),
                version  BIGINT NOT NULL DEFAULT 0 CHECK (version >= 0)
            );
            CREATE TABLE classes (
                id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                school   TEXT NOT NULL REFERENCES schools(id),
                name     TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 32),
                grade    INTEGER NOT NULL CHECK (grade BETWEEN 0 AND 12),
                UNIQUE (school, name)
            );
            -- id: the centre-issued pseudonymous ID the edge and every message use (random, so it reveals neither order
            -- nor count of enrolment). The real name never leaves the centre; schools get display_name only.
            CREATE TABLE pupils (
                id                BIGINT PRIMARY KEY CHECK (id > 0),
                full_name         TEXT NOT NULL,
                display_name      TEXT NOT NULL,
                school            TEXT NOT NULL REFERENCES schools(id),
                class_id          BIGINT NOT NULL REFERENCES classes(id),
                status            TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'left')),
                daily_limit_tiyn  BIGINT CHECK (daily_limit_tiyn >= 0),
                created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
                updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
            );
            CREATE INDEX pupils_school ON pupils(school, class_id);
            CREATE TABLE guardians (
                id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                full_name  TEXT NOT NULL,
                phone      TEXT,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now()
            );
            CREATE TABLE guardian_pupils (
                guardian  BIGINT NOT NULL REFERENCES guardians(id),
                pupil     BIGINT NOT NULL REFERENCES pupils(id),
                relation  TEXT NOT NULL CHECK (relation IN ('parent', 'legal-guardian', 'trustee')),
                linked_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (guardian, pupil)
            );
            CREATE INDEX guardian_pupils_pupil ON guardian_pupils(pupil);
            CREATE TABLE cards (
                card_number  BIGINT PRIMARY KEY CHECK (card_number > 0),
                holder_kind  TEXT NOT NULL CHECK (holder_kind IN ('pupil')),
                holder_id    BIGINT NOT NULL REFERENCES pupils(id),
                status       TEXT NOT NULL CHECK (status IN ('active', 'blocked', 'lost')),
                updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
            );
            CREATE INDEX cards_holder ON cards(holder_kind, holder_id);
            -- Purposes never include marketing: the CHECK makes that a database rule, not only an API rule.
            CREATE TABLE consents (
                id               TEXT PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{1,64}$'),
                pupil            BIGINT NOT NULL REFERENCES pupils(id),
                given_by_kind    TEXT NOT NULL CHECK (given_by_kind IN ('guardian', 'pupil')),
                given_by         BIGINT REFERENCES guardians(id),
                purposes         TEXT[] NOT NULL CHECK (cardinality(purposes) > 0
                                   AND purposes <@ ARRAY['access', 'attendance', 'safety', 'canteen-payment', 'library']::text[]),
                status           TEXT NOT NULL CHECK (status IN ('granted', 'revoked', 'objection')),
                document_sha256  TEXT NOT NULL CHECK (document_sha256 ~ '^[0-9a-f]{64}$'),
                expires_at       TIMESTAMPTZ,
                operator         TEXT NOT NULL,
                no_cross_border  BOOLEAN NOT NULL DEFAULT true,
                granted_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
                ended_at         TIMESTAMPTZ,
                ended_by         TEXT,
                CHECK ((given_by_kind = 'guardian') = (given_by IS NOT NULL))
            );
            CREATE INDEX consents_pupil ON consents(pupil);
            -- Which schools hold which pupil's templates: a revocation must reach each of them (issue 4 §4).
            CREATE TABLE template_placements (
                school       TEXT NOT NULL REFERENCES schools(id),
                pupil        BIGINT NOT NULL REFERENCES pupils(id),
                template_id  TEXT NOT NULL,
                version      BIGINT NOT NULL,
                placed_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (school, template_id)
            );
            CREATE INDEX template_placements_pupil ON template_placements(pupil);
            -- The centre is authoritative for top-ups (docs/sync-protocol.md §6): append-only, idempotent by the caller's id.
            CREATE TABLE topups (
                id           TEXT PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{1,64}$'),
                pupil        BIGINT NOT NULL REFERENCES pupils(id),
                amount_tiyn  BIGINT NOT NULL CHECK (amount_tiyn > 0),
                at           TIMESTAMPTZ NOT NULL,
                source       TEXT NOT NULL,
                recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now()
            );
            CREATE INDEX topups_pupil ON topups(pupil);
            -- Canteen money from uplink events, by pupil (balance) and by school and time (meals dashboard). Text keys:
            -- a cast in an index expression would make a malformed event fail the whole ingest batch.
            CREATE INDEX events_canteen_by_pupil ON events ((payload->>'pupilId')) WHERE type IN ('canteen.charge', 'canteen.refund');
            CREATE INDEX events_charges_by_school ON events (school, created_at) WHERE type = 'canteen.charge';
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
        (4, "template transfers between schools (school public keys, transfer requests) and staff", """
            -- A school's public ECDH P-256 key for templates sealed for it (docs/sync-protocol.md §5.3), from its hello. The
            -- public half only: the centre holds no key that opens a template.
            ALTER TABLE schools ADD COLUMN template_key_id TEXT;
            ALTER TABLE schools ADD COLUMN template_public_key BYTEA CHECK (octet_length(template_public_key) <= 512);
            ALTER TABLE schools ADD COLUMN template_key_at TIMESTAMPTZ;
            -- A request to move a pupil's templates from one school to another; the sealed templates themselves live only
            -- in the downlink feed of the target school (template.upsert) and in the source's uplink event.
            CREATE TABLE template_transfers (
                id               TEXT PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{1,64}$'),
                pupil            BIGINT NOT NULL REFERENCES pupils(id),
                from_school      TEXT NOT NULL REFERENCES schools(id),
                to_school        TEXT NOT NULL REFERENCES schools(id),
                target_key_id    TEXT NOT NULL,
                status           TEXT NOT NULL CHECK (status IN ('requested', 'delivered', 'refused')),
                templates        INTEGER NOT NULL DEFAULT 0 CHECK (templates >= 0),
                detail           TEXT,
                operator         TEXT NOT NULL,
                request_version  BIGINT NOT NULL,
                requested_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
                answered_at      TIMESTAMPTZ,
                CHECK (from_school <> to_school)
            );
            CREATE INDEX template_transfers_pupil ON template_transfers(pupil);
            -- Staff of a school (staff.upsert / staff.leave); like pupils, schools get the display name only.
            CREATE TABLE staff (
                id            BIGINT PRIMARY KEY CHECK (id > 0),
                school        TEXT NOT NULL REFERENCES schools(id),
                full_name     TEXT NOT NULL,
                display_name  TEXT NOT NULL,
                role          TEXT NOT NULL CHECK (role IN ('teacher', 'guard', 'canteen', 'office', 'it', 'service')),
                status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'left')),
                updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
            );
            CREATE INDEX staff_school ON staff(school);
            """),
        // Why: every row's foreign-key check takes a KEY SHARE lock on the one stream (and school) row; with several
        // batches of a school in flight those shared locks become multixacts, and the bulk COPY spent ~170 µs per
        // event on them (tools/bench-sync.sh: 7,236 → 14,542 events/s without the stream key). Ingest guarantees the
        // same thing in code: events and passages are written only after the registry check, in the transaction that
        // created the stream row.
        (5, "events and passages without per-row foreign keys to their stream and school (the ingest checks both first)", """
            ALTER TABLE events DROP CONSTRAINT IF EXISTS events_school_epoch_fkey;
            ALTER TABLE passages DROP CONSTRAINT IF EXISTS passages_school_fkey;
            """),
        (6, "staff cards, removed classes, template deletions requested at the centre", """
            -- Cards for staff as well as pupils (card.upsert with holderKind staff). A foreign key cannot point at two
            -- tables, so the holder's existence and school are checked by the API (Roster.PutCardAsync) in the same
            -- transaction that writes the card.
            ALTER TABLE cards DROP CONSTRAINT IF EXISTS cards_holder_kind_check;
            ALTER TABLE cards DROP CONSTRAINT IF EXISTS cards_holder_id_fkey;
            ALTER TABLE cards ADD CONSTRAINT cards_holder_kind_check CHECK (holder_kind IN ('pupil', 'staff'));
            -- A removed class (class.remove) keeps its row while pupils who left still point at it; it takes no new pupils
            -- and is not sent in snapshots. Creating a class of the same name again brings it back.
            ALTER TABLE classes ADD COLUMN removed_at TIMESTAMPTZ;
            -- template.delete requests: which received template of which pupil was withdrawn from which school, and why.
            -- The school confirms the purge in up/acks under this id (purge_confirmations.consent_id = id).
            CREATE TABLE template_deletions (
                id            TEXT PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{1,64}$'),
                pupil         BIGINT NOT NULL REFERENCES pupils(id),
                school        TEXT NOT NULL REFERENCES schools(id),
                template_id   TEXT NOT NULL,
                reason        TEXT NOT NULL,
                operator      TEXT NOT NULL,
                version       BIGINT NOT NULL,
                requested_at  TIMESTAMPTZ NOT NULL DEFAULT now()
            );
            CREATE INDEX template_deletions_pupil ON template_deletions(pupil);
            -- Where a school's newest snapshot is (the start for a new or reset gate PC), without reading its whole feed.
            CREATE INDEX downlink_changes_snapshots ON downlink_changes(school, version) WHERE type IN ('snapshot.begin', 'snapshot.end');
            """),
        // Why: half of PostgreSQL's CPU per ingested event went into B-tree inserts (perf: _bt_doinsert 10 of 22.8 % of
        // samples), and a key that starts with a text column makes every comparison on the way down read the text (with
        // the database's collation) and reach the following columns through nocache_index_getattr. With the fixed-width
        // columns first a comparison is decided on the epoch and seq (or the holder ID) and the school text is almost
        // never read. The same columns, so the same uniqueness; every query of these indexes has equality on the epoch
        // (holder) and a range or order on the seq (decided_at). Rebuilding takes a lock on each table for as long as its
        // index build: run it in a quiet hour on a large centre.
        (7, "ingest indexes with their fixed-width columns first (events key epoch, seq, school; passages by holder_id, decided_at)", """
            ALTER TABLE events DROP CONSTRAINT events_pkey;
            ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (epoch, seq, school);
            DROP INDEX passages_holder;
            CREATE INDEX passages_holder ON passages(holder_id, decided_at, holder_kind) WHERE holder_id IS NOT NULL;
            """),
        (8, "which credential opened the gate for each passage (card, face; null for a manual pass or an older agent)", """
            -- No default and no CHECK: adding the column is a catalogue change only, however many passages are stored.
            -- The ingest checks the value; older agents leave it out (null).
            ALTER TABLE passages ADD COLUMN credential TEXT;
            """),
    ];
}
