-- Alerts for the safeguarding team, made by the monitoring rules from filtering events. Hits of
-- the same rule by the same person (or device) within the profile's window add to one alert.
CREATE TABLE alerts (
    id           BIGSERIAL PRIMARY KEY,
    severity     TEXT NOT NULL,              -- critical | high | medium | low
    rule         TEXT NOT NULL,
    subject      TEXT NOT NULL,              -- the username, or "device <ip>"
    person_id    BIGINT REFERENCES people(id),
    username     TEXT,
    client_ip    TEXT NOT NULL,
    group_name   TEXT NOT NULL,
    first_at     TEXT NOT NULL,
    last_at      TEXT NOT NULL,
    count        BIGINT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',   -- open | acknowledged | dismissed | escalated
    status_note  TEXT,
    handled_by   BIGINT REFERENCES people(id),
    handled_at   TEXT,
    evidence     TEXT NOT NULL               -- JSON array of the first events
);
CREATE INDEX alerts_subject_rule ON alerts(subject, rule, last_at);
CREATE INDEX alerts_status ON alerts(status, last_at);
