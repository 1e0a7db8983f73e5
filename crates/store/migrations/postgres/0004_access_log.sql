-- Every filtered request (DNS query or proxy request) with the fields the DfE filtering standard
-- asks for. Written in batches; not part of the audit chain (it is evidence, not a change).
CREATE TABLE access_log (
    id           BIGSERIAL PRIMARY KEY,
    at           TEXT NOT NULL,
    source       TEXT NOT NULL,              -- dns | proxy
    client_ip    TEXT NOT NULL,
    device       TEXT,
    person_id    BIGINT,
    username     TEXT,
    group_name   TEXT NOT NULL,
    name         TEXT NOT NULL,              -- the host or query name
    qtype        TEXT,
    url          TEXT,
    search_term  TEXT,
    verdict      TEXT NOT NULL,              -- allow | block | rewrite | refused | error
    category     TEXT,
    rule         TEXT,
    upstream_ms  BIGINT
);
CREATE INDEX access_log_at ON access_log(at);
CREATE INDEX access_log_person ON access_log(person_id, at);

-- Daily counts kept after the detailed rows pass their retention period.
CREATE TABLE access_daily (
    day         TEXT NOT NULL,
    source      TEXT NOT NULL,
    group_name  TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    category    TEXT NOT NULL,
    requests    BIGINT NOT NULL,
    PRIMARY KEY (day, source, group_name, verdict, category)
);
