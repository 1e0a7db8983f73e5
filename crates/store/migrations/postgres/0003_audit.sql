-- Append-only audit trail. Each row's hash is SHA-256(previous row's hash || canonical row),
-- so changing, removing or reordering any row breaks the chain at that row.
CREATE TABLE audit_log (
    id           BIGINT PRIMARY KEY,            -- 1, 2, 3, ... with no gaps
    at           TEXT NOT NULL,
    actor_id     BIGINT,
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    details      TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
