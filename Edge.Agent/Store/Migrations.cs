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
        (3, "downlink inbox: changes the edge could not apply", """
            -- A change from the centre that failed validation or has no handler here. It still counts as applied
            -- (the stream goes on) and is reported to the centre in up/acks; kept for a later replay.
            CREATE TABLE inbox_rejections (
                version       INTEGER PRIMARY KEY,
                kind          TEXT NOT NULL,
                reason        TEXT NOT NULL,
                data          TEXT NOT NULL,
                received_at   TEXT NOT NULL,
                reported      INTEGER NOT NULL DEFAULT 0
            );
            """),
        (4, "ledgers: canteen double-entry ledger, menu, shifts, bans, limits, entitlements; library; tableau", """
            -- Canteen. Money is integer tiyn. Each transaction's entries sum to zero (checked in code
            -- before the insert and by CanteenLedger.Verify); entries and transactions are append-only
            -- (triggers below): a correction is a new transaction pointing at the original.
            CREATE TABLE canteen_accounts (
                id            INTEGER PRIMARY KEY,
                kind          TEXT NOT NULL CHECK (kind IN ('pupil','revenue','topup-clearing','subsidy','cash')),
                pupil_id      INTEGER UNIQUE REFERENCES pupils(id),
                -- Sum of this account's entries, kept in the same transaction as the entries (Verify compares).
                balance       INTEGER NOT NULL DEFAULT 0,
                CHECK ((kind = 'pupil') = (pupil_id IS NOT NULL))
            );
            INSERT INTO canteen_accounts(id, kind) VALUES (1, 'revenue'), (2, 'topup-clearing'), (3, 'subsidy'), (4, 'cash');
            CREATE TABLE canteen_menu_items (
                id            INTEGER PRIMARY KEY,
                code          TEXT NOT NULL UNIQUE,
                name          TEXT NOT NULL,
                price         INTEGER NOT NULL CHECK (price >= 0),
                category      TEXT NOT NULL DEFAULT 'other',
                is_meal       INTEGER NOT NULL DEFAULT 0 CHECK (is_meal IN (0,1)),
                allergens     TEXT NOT NULL DEFAULT '',
                photo_path    TEXT,
                active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0,1))
            );
            CREATE TABLE canteen_shifts (
                id            INTEGER PRIMARY KEY,
                till          TEXT NOT NULL,
                cashier_staff_id INTEGER NOT NULL REFERENCES staff(id),
                opening_float INTEGER NOT NULL CHECK (opening_float >= 0),
                opened_at     TEXT NOT NULL,
                closed_at     TEXT,
                counted_cash  INTEGER,
                expected_cash INTEGER
            );
            CREATE UNIQUE INDEX canteen_shifts_one_open_per_till ON canteen_shifts(till) WHERE closed_at IS NULL;
            CREATE TABLE canteen_transactions (
                id            INTEGER PRIMARY KEY,
                uid           TEXT NOT NULL UNIQUE,
                kind          TEXT NOT NULL CHECK (kind IN ('charge','refund','void','topup')),
                idempotency_key TEXT UNIQUE,
                fingerprint   TEXT,
                pupil_id      INTEGER REFERENCES pupils(id),
                shift_id      INTEGER REFERENCES canteen_shifts(id),
                staff_id      INTEGER REFERENCES staff(id),
                original_id   INTEGER REFERENCES canteen_transactions(id),
                reason        TEXT,
                override_reason TEXT,
                at            TEXT NOT NULL,
                -- The school day the money counts to (a refund counts to its charge's day).
                local_day     TEXT NOT NULL,
                total         INTEGER NOT NULL,
                from_account  INTEGER NOT NULL DEFAULT 0,
                from_subsidy  INTEGER NOT NULL DEFAULT 0,
                from_cash     INTEGER NOT NULL DEFAULT 0,
                offline       INTEGER NOT NULL DEFAULT 0
            );
            CREATE INDEX canteen_transactions_pupil_day ON canteen_transactions(pupil_id, local_day);
            CREATE INDEX canteen_transactions_original ON canteen_transactions(original_id);
            CREATE INDEX canteen_transactions_shift ON canteen_transactions(shift_id);
            CREATE TABLE canteen_entries (
                id            INTEGER PRIMARY KEY,
                transaction_id INTEGER NOT NULL REFERENCES canteen_transactions(id),
                account_id    INTEGER NOT NULL REFERENCES canteen_accounts(id),
                amount        INTEGER NOT NULL
            );
            CREATE INDEX canteen_entries_account ON canteen_entries(account_id);
            CREATE INDEX canteen_entries_transaction ON canteen_entries(transaction_id);
            CREATE TABLE canteen_charge_lines (
                transaction_id INTEGER NOT NULL REFERENCES canteen_transactions(id),
                line          INTEGER NOT NULL,
                menu_item_id  INTEGER NOT NULL REFERENCES canteen_menu_items(id),
                quantity      INTEGER NOT NULL CHECK (quantity > 0),
                unit_price    INTEGER NOT NULL,
                PRIMARY KEY (transaction_id, line)
            );
            CREATE TRIGGER canteen_transactions_append_only_u BEFORE UPDATE ON canteen_transactions BEGIN SELECT RAISE(ABORT, 'canteen transactions are append-only: post a refund or void instead'); END;
            CREATE TRIGGER canteen_transactions_append_only_d BEFORE DELETE ON canteen_transactions BEGIN SELECT RAISE(ABORT, 'canteen transactions are append-only: post a refund or void instead'); END;
            CREATE TRIGGER canteen_entries_append_only_u BEFORE UPDATE ON canteen_entries BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only: post a correcting transaction instead'); END;
            CREATE TRIGGER canteen_entries_append_only_d BEFORE DELETE ON canteen_entries BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only: post a correcting transaction instead'); END;
            CREATE TRIGGER canteen_charge_lines_append_only_u BEFORE UPDATE ON canteen_charge_lines BEGIN SELECT RAISE(ABORT, 'charge lines are append-only'); END;
            CREATE TRIGGER canteen_charge_lines_append_only_d BEFORE DELETE ON canteen_charge_lines BEGIN SELECT RAISE(ABORT, 'charge lines are append-only'); END;
            -- Parents' settings. A NULL limit = no limit.
            CREATE TABLE canteen_daily_limits (
                pupil_id      INTEGER PRIMARY KEY REFERENCES pupils(id),
                daily_limit   INTEGER NOT NULL CHECK (daily_limit >= 0),
                set_by        TEXT NOT NULL,
                set_at        TEXT NOT NULL
            );
            CREATE TABLE canteen_bans (
                id            INTEGER PRIMARY KEY,
                pupil_id      INTEGER NOT NULL REFERENCES pupils(id),
                kind          TEXT NOT NULL CHECK (kind IN ('item','allergen')),
                menu_item_id  INTEGER REFERENCES canteen_menu_items(id),
                allergen      TEXT,
                set_by        TEXT NOT NULL,
                set_at        TEXT NOT NULL,
                removed_at    TEXT,
                CHECK ((kind = 'item') = (menu_item_id IS NOT NULL) AND (kind = 'allergen') = (allergen IS NOT NULL))
            );
            CREATE INDEX canteen_bans_pupil ON canteen_bans(pupil_id) WHERE removed_at IS NULL;
            -- Every sale that went through despite a ban: who, why, what was banned.
            CREATE TABLE canteen_ban_overrides (
                id            INTEGER PRIMARY KEY,
                transaction_id INTEGER NOT NULL REFERENCES canteen_transactions(id),
                ban_id        INTEGER NOT NULL REFERENCES canteen_bans(id),
                staff_id      INTEGER NOT NULL REFERENCES staff(id),
                reason        TEXT NOT NULL,
                at            TEXT NOT NULL
            );
            -- Free or subsidised meals: one entitled meal per pupil per day, up to max_amount tiyn.
            CREATE TABLE canteen_entitlements (
                id            INTEGER PRIMARY KEY,
                pupil_id      INTEGER NOT NULL REFERENCES pupils(id),
                program       TEXT NOT NULL,
                max_amount    INTEGER NOT NULL CHECK (max_amount > 0),
                valid_from    TEXT NOT NULL,
                valid_until   TEXT,
                UNIQUE (pupil_id, program, valid_from)
            );
            CREATE INDEX canteen_entitlements_pupil ON canteen_entitlements(pupil_id);

            -- Library.
            CREATE TABLE library_titles (
                id            INTEGER PRIMARY KEY,
                isbn          TEXT,
                title         TEXT NOT NULL,
                author        TEXT NOT NULL DEFAULT ''
            );
            CREATE INDEX library_titles_isbn ON library_titles(isbn);
            CREATE TABLE library_copies (
                id            INTEGER PRIMARY KEY,
                barcode       TEXT NOT NULL UNIQUE,
                title_id      INTEGER NOT NULL REFERENCES library_titles(id),
                status        TEXT NOT NULL DEFAULT 'available' CHECK (status IN ('available','on-loan','lost','withdrawn')),
                added_at      TEXT NOT NULL
            );
            CREATE TABLE library_loans (
                id            INTEGER PRIMARY KEY,
                copy_id       INTEGER NOT NULL REFERENCES library_copies(id),
                pupil_id      INTEGER NOT NULL REFERENCES pupils(id),
                loaned_at     TEXT NOT NULL,
                due_on        TEXT NOT NULL,
                renewals      INTEGER NOT NULL DEFAULT 0,
                returned_at   TEXT,
                lost_at       TEXT,
                staff_id      INTEGER REFERENCES staff(id)
            );
            CREATE UNIQUE INDEX library_loans_open_per_copy ON library_loans(copy_id) WHERE returned_at IS NULL AND lost_at IS NULL;
            CREATE INDEX library_loans_pupil ON library_loans(pupil_id);

            -- Tableau: the bell schedule (first lesson start decides "late"), board announcements
            -- (filled by the sync downlink), evacuation roll-calls.
            CREATE TABLE bell_schedule (
                id            INTEGER PRIMARY KEY,
                class_id      INTEGER REFERENCES classes(id),
                weekday       INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
                lesson        INTEGER NOT NULL CHECK (lesson >= 1),
                starts_at     TEXT NOT NULL,
                ends_at       TEXT NOT NULL
            );
            CREATE INDEX bell_schedule_day ON bell_schedule(weekday, class_id);
            CREATE TABLE announcements (
                id            INTEGER PRIMARY KEY,
                uid           TEXT NOT NULL UNIQUE,
                text          TEXT NOT NULL,
                valid_from    TEXT NOT NULL,
                valid_until   TEXT,
                created_at    TEXT NOT NULL
            );
            CREATE TABLE rollcall_sessions (
                id            INTEGER PRIMARY KEY,
                started_at    TEXT NOT NULL,
                started_by    TEXT NOT NULL,
                ended_at      TEXT
            );
            -- A snapshot of who was inside when the roll-call started, so it works with nothing else running.
            CREATE TABLE rollcall_people (
                session_id    INTEGER NOT NULL REFERENCES rollcall_sessions(id),
                holder_kind   TEXT NOT NULL,
                holder_id     INTEGER NOT NULL,
                full_name     TEXT NOT NULL,
                group_name    TEXT NOT NULL,
                last_gate     TEXT,
                last_at       TEXT,
                accounted_at  TEXT,
                accounted_by  TEXT,
                PRIMARY KEY (session_id, holder_kind, holder_id)
            );
            """),
        (6, "local web UI: staff accounts and sessions", """
            -- People who sign in to the agent's web UI (till, library desk, office, IT console). Not pupils.
            -- password_hash is PBKDF2-HMAC-SHA256 with a per-account salt; iterations are stored so they can be raised later.
            CREATE TABLE web_accounts (
                id              INTEGER PRIMARY KEY,
                name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
                role            TEXT NOT NULL CHECK (role IN ('cashier','librarian','office','it-admin')),
                -- The staff member this account is (the ledgers record who sold, refunded or lent by staff ID).
                staff_id        INTEGER REFERENCES staff(id),
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
        (7, "passages: which credential (card or face) and which camera", """
            -- Additive: older rows keep NULL (they were all cards or manual passes; manual passes stay NULL).
            ALTER TABLE passages ADD COLUMN credential TEXT CHECK (credential IN ('card','face'));
            ALTER TABLE passages ADD COLUMN camera TEXT;
            """),
        (8, "sync: snapshot key lists received so far (docs/sync-protocol.md §5.4)", """
            -- The keys of a snapshot arrive in several snapshot.keys changes; each part is stored in the transaction that
            -- records its version, so a restart between parts loses nothing. snapshot.end checks the parts and counts and
            -- removes what is not listed; snapshot.begin of a newer snapshot drops a half-received older one.
            CREATE TABLE snapshot_parts (
                snapshot_id   TEXT NOT NULL,
                part          INTEGER NOT NULL CHECK (part >= 1),
                PRIMARY KEY (snapshot_id, part)
            ) WITHOUT ROWID;
            -- key keeps the JSON type it was sent with (an integer id or a text id), so no column type.
            CREATE TABLE snapshot_keys (
                snapshot_id   TEXT NOT NULL,
                kind          TEXT NOT NULL,
                key           NOT NULL,
                PRIMARY KEY (snapshot_id, kind, key)
            ) WITHOUT ROWID;
            """),
    ];
}
