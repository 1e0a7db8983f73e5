-- Schools are rows (issue 17, part 1). Every school-owned table carries its school; a database
-- made before this migration is one school, school 1, and every row it holds is school 1's.
-- The school's slug and name are the placeholders below until `serve` or `demo` first starts
-- with its profile, which names it (Store::name_first_school). Its creation time is its first
-- audit row's, or empty in a new database until that start sets it from Palisade's clock (the
-- database's own clock is not the one Palisade reads).
--
-- Constraints that will have to include the school (usernames stay unique in the whole
-- database, as the issue asks; the daily counts' keys, device names and addresses, the audit
-- chain's sequence) change with the migration that lets a second school in: with one school
-- they mean the same.
--
-- SQLite cannot add a column with a REFERENCES clause and a non-NULL default while foreign keys
-- are on, so the column here has none; PostgreSQL's has one (see its migration).
CREATE TABLE schools (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
INSERT INTO schools (id, slug, name, created_at)
VALUES (1, 'school-1', '', (SELECT COALESCE(MIN(at), '') FROM audit_log));

ALTER TABLE people ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE parent_links ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE concerns ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE concern_subjects ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE concern_actions ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE blobs ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE attachments ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_log ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE access_log ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE access_daily ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE review_requests ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE allow_entries ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE aup_acceptances ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE alerts ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE mail_outbox ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE devices ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE filtering_versions ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE access_days_counted ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE account_welcomes ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sign_in_failures ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
