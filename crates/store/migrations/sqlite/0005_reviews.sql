-- Requests to review a block, made from the block page, and the network manager's decisions.
CREATE TABLE review_requests (
    id             INTEGER PRIMARY KEY,
    url            TEXT NOT NULL,
    host           TEXT NOT NULL,
    category       TEXT,
    rule           TEXT,
    group_name     TEXT NOT NULL,            -- the filtering group of the device that asked
    client_ip      TEXT NOT NULL,
    requested_by   INTEGER NOT NULL REFERENCES people(id),
    reason         TEXT NOT NULL,
    requested_at   TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending',   -- pending | approved | declined
    decided_by     INTEGER REFERENCES people(id),
    decided_at     TEXT,
    decision_note  TEXT
);
CREATE INDEX review_requests_status ON review_requests(status, requested_at);

-- Hosts allowed for a group (or every group, '*') on top of the profile's allow-lists. The
-- filter reloads with them; mandatory lists still win. Removal keeps the row, for the record.
CREATE TABLE allow_entries (
    id          INTEGER PRIMARY KEY,
    host        TEXT NOT NULL,
    group_name  TEXT NOT NULL,
    reason      TEXT NOT NULL,
    added_by    INTEGER NOT NULL REFERENCES people(id),
    added_at    TEXT NOT NULL,
    review_id   INTEGER REFERENCES review_requests(id),
    removed_by  INTEGER REFERENCES people(id),
    removed_at  TEXT
);
