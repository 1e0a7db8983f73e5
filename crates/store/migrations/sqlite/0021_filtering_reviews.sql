-- The DfE filtering and monitoring standard's records (issue 19, parts 2 and 3): checks made
-- with an outside tool, with their certificate file (kept in blobs); the annual review with its
-- participants, an answer to each of the standard's prompts, its findings and actions; and the
-- triggers that make a review due before the year is out. Every row belongs to a school.

CREATE TABLE filter_checks (
    id                  INTEGER PRIMARY KEY,
    school_id           INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
    checked_on          TEXT NOT NULL,
    tool                TEXT NOT NULL,
    device_type         TEXT NOT NULL,
    device_name         TEXT NOT NULL,
    site                TEXT NOT NULL,
    group_name          TEXT NOT NULL,
    passed              INTEGER NOT NULL,
    notes               TEXT NOT NULL,
    certificate_name    TEXT,
    certificate_type    TEXT,
    certificate_sha256  TEXT,
    recorded_by         INTEGER NOT NULL REFERENCES people(id),
    recorded_at         TEXT NOT NULL
);
CREATE INDEX filter_checks_group ON filter_checks(school_id, group_name, checked_on);

CREATE TABLE filtering_reviews (
    id           INTEGER PRIMARY KEY,
    school_id    INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
    held_on      TEXT NOT NULL,
    findings     TEXT NOT NULL,
    recorded_by  INTEGER NOT NULL REFERENCES people(id),
    recorded_at  TEXT NOT NULL
);
CREATE TABLE filtering_review_participants (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
    review_id   INTEGER NOT NULL REFERENCES filtering_reviews(id),
    person_id   INTEGER NOT NULL REFERENCES people(id)
);
CREATE INDEX filtering_review_participants_review ON filtering_review_participants(school_id, review_id);
CREATE TABLE filtering_review_answers (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
    review_id   INTEGER NOT NULL REFERENCES filtering_reviews(id),
    prompt      TEXT NOT NULL,
    answer      TEXT NOT NULL
);
CREATE INDEX filtering_review_answers_review ON filtering_review_answers(school_id, review_id);
-- An action is marked done later (done_on, done_by); nothing else about it changes.
CREATE TABLE filtering_review_actions (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
    review_id   INTEGER NOT NULL REFERENCES filtering_reviews(id),
    what        TEXT NOT NULL,
    owner_id    INTEGER NOT NULL REFERENCES people(id),
    due_on      TEXT NOT NULL,
    done_on     TEXT,
    done_by     INTEGER REFERENCES people(id)
);
CREATE INDEX filtering_review_actions_review ON filtering_review_actions(school_id, review_id);
CREATE TABLE filtering_review_triggers (
    id           INTEGER PRIMARY KEY,
    school_id    INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
    happened_on  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    reason       TEXT NOT NULL,
    recorded_by  INTEGER NOT NULL REFERENCES people(id),
    recorded_at  TEXT NOT NULL
);
