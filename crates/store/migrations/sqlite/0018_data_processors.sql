-- The data processors register (issue 18, part 5): the third parties that hold personal data
-- for the school, with their agreement, how data reaches them, where it is kept and whether a
-- DPIA was done.
CREATE TABLE data_processors (
    id              INTEGER PRIMARY KEY,
    school_id       INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
    name            TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    data_shared     TEXT NOT NULL,
    whose_data      TEXT NOT NULL,
    agreement_on    TEXT NOT NULL,
    renewal_on      TEXT,
    transfer        TEXT NOT NULL,
    stored_where    TEXT NOT NULL,
    dpia_done       INTEGER NOT NULL,
    review_on       TEXT NOT NULL,
    added_by        INTEGER NOT NULL REFERENCES people(id),
    added_at        TEXT NOT NULL
);
CREATE INDEX data_processors_school ON data_processors(school_id, name);
