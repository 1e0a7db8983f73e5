-- The server's daily backups (issue 21, part 3): each one made or tried, when, the file, and
-- whether it verified (unpacked, hashes checked, audit chain and row counts as recorded) or
-- the error. `/readyz`, the metrics and the dashboard read the newest verified one. Every row
-- belongs to a school, with row-level security as every other school-owned table (0017).
CREATE TABLE backups (
    id          BIGSERIAL PRIMARY KEY,
    school_id   BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    made_at     TEXT NOT NULL,
    file        TEXT NOT NULL,
    verified    BIGINT NOT NULL,
    error       TEXT
);
CREATE INDEX backups_at ON backups(school_id, verified, made_at);

ALTER TABLE backups ENABLE ROW LEVEL SECURITY;
ALTER TABLE backups FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON backups USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON backups TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE backups_id_seq TO palisade_app;
