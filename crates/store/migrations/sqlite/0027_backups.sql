-- The server's daily backups (issue 21, part 3): each one made or tried, when, the file, and
-- whether it verified (unpacked, hashes checked, audit chain and row counts as recorded) or
-- the error. `/readyz`, the metrics and the dashboard read the newest verified one.
CREATE TABLE backups (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
    made_at     TEXT NOT NULL,
    file        TEXT NOT NULL,
    verified    INTEGER NOT NULL,
    error       TEXT
);
CREATE INDEX backups_at ON backups(school_id, verified, made_at);
