-- The confidential safeguarding log. Nothing here is updated in place except a concern's
-- current status, severity, assignee and outcome, each change of which is also a timeline entry.
CREATE TABLE concerns (
    id             INTEGER PRIMARY KEY,
    reporter_id    INTEGER NOT NULL REFERENCES people(id),
    form           TEXT NOT NULL,             -- staff | pupil | parent
    route          TEXT NOT NULL,             -- safeguarding | about_staff | about_headteacher
    audience       TEXT NOT NULL,             -- comma-separated roles that handle it
    lado_required  INTEGER NOT NULL DEFAULT 0,
    category       TEXT NOT NULL,
    summary        TEXT NOT NULL,
    details        TEXT NOT NULL,
    about_text     TEXT,                      -- who it is about, in the reporter's words
    occurred_at    TEXT,
    platform       TEXT,
    status         TEXT NOT NULL,
    severity       TEXT,
    assignee_id    INTEGER REFERENCES people(id),
    outcome        TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX concerns_reporter ON concerns(reporter_id);

CREATE TABLE concern_subjects (
    concern_id  INTEGER NOT NULL REFERENCES concerns(id),
    person_id   INTEGER NOT NULL REFERENCES people(id),
    PRIMARY KEY (concern_id, person_id)
);
CREATE INDEX concern_subjects_person ON concern_subjects(person_id);

CREATE TABLE concern_actions (
    id          INTEGER PRIMARY KEY,
    concern_id  INTEGER NOT NULL REFERENCES concerns(id),
    kind        TEXT NOT NULL,
    actor_id    INTEGER NOT NULL REFERENCES people(id),
    at          TEXT NOT NULL,
    body        TEXT NOT NULL,                -- JSON object, fields per kind
    corrects_id INTEGER REFERENCES concern_actions(id)
);
CREATE INDEX concern_actions_concern ON concern_actions(concern_id);

CREATE TABLE blobs (
    sha256   TEXT PRIMARY KEY,
    content  BLOB NOT NULL,
    size     INTEGER NOT NULL
);

CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY,
    concern_id    INTEGER NOT NULL REFERENCES concerns(id),
    sha256        TEXT NOT NULL REFERENCES blobs(sha256),
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    added_by      INTEGER NOT NULL REFERENCES people(id),
    added_at      TEXT NOT NULL
);
CREATE INDEX attachments_concern ON attachments(concern_id);
