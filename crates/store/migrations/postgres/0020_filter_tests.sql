-- The filtering self-test (issue 19, part 1): each run through the running gateways, and each
-- check's result (group, client address, what was sent, expected and got, pass or fail), kept
-- as the DfE standard's record of checks. Every row belongs to a school, with row-level
-- security as every other school-owned table (0017).
CREATE TABLE filter_test_runs (
    id          BIGSERIAL PRIMARY KEY,
    school_id   BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    run_at      TEXT NOT NULL,
    site        TEXT NOT NULL,
    cause       TEXT NOT NULL,
    run_by      BIGINT REFERENCES people(id),
    checks      BIGINT NOT NULL,
    failed      BIGINT NOT NULL
);
CREATE INDEX filter_test_runs_at ON filter_test_runs(school_id, run_at);

CREATE TABLE filter_test_results (
    id          BIGSERIAL PRIMARY KEY,
    school_id   BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    run_id      BIGINT NOT NULL REFERENCES filter_test_runs(id),
    group_name  TEXT NOT NULL,
    client_ip   TEXT NOT NULL,
    check_name  TEXT NOT NULL,
    sent        TEXT NOT NULL,
    expected    TEXT NOT NULL,
    got         TEXT NOT NULL,
    pass        BIGINT NOT NULL
);
CREATE INDEX filter_test_results_run ON filter_test_results(school_id, run_id);
CREATE INDEX filter_test_results_group ON filter_test_results(school_id, group_name, run_id);

ALTER TABLE filter_test_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE filter_test_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON filter_test_runs USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON filter_test_runs TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE filter_test_runs_id_seq TO palisade_app;
ALTER TABLE filter_test_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE filter_test_results FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON filter_test_results USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON filter_test_results TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE filter_test_results_id_seq TO palisade_app;
