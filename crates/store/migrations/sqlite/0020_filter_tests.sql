-- The filtering self-test (issue 19, part 1): each run through the running gateways, and each
-- check's result (group, client address, what was sent, expected and got, pass or fail), kept
-- as the DfE standard's record of checks. Every row belongs to a school.
CREATE TABLE filter_test_runs (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
    run_at      TEXT NOT NULL,
    site        TEXT NOT NULL,
    cause       TEXT NOT NULL,
    run_by      INTEGER REFERENCES people(id),
    checks      INTEGER NOT NULL,
    failed      INTEGER NOT NULL
);
CREATE INDEX filter_test_runs_at ON filter_test_runs(school_id, run_at);

CREATE TABLE filter_test_results (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
    run_id      INTEGER NOT NULL REFERENCES filter_test_runs(id),
    group_name  TEXT NOT NULL,
    client_ip   TEXT NOT NULL,
    check_name  TEXT NOT NULL,
    sent        TEXT NOT NULL,
    expected    TEXT NOT NULL,
    got         TEXT NOT NULL,
    pass        INTEGER NOT NULL
);
CREATE INDEX filter_test_results_run ON filter_test_results(school_id, run_id);
CREATE INDEX filter_test_results_group ON filter_test_results(school_id, group_name, run_id);
