-- The data processors register (issue 18, part 5): the third parties that hold personal data
-- for the school, with their agreement, how data reaches them, where it is kept and whether a
-- DPIA was done. A school-owned table: row-level security as every other (0017).
CREATE TABLE data_processors (
    id              BIGSERIAL PRIMARY KEY,
    school_id       BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    name            TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    data_shared     TEXT NOT NULL,
    whose_data      TEXT NOT NULL,
    agreement_on    TEXT NOT NULL,
    renewal_on      TEXT,
    transfer        TEXT NOT NULL,
    stored_where    TEXT NOT NULL,
    dpia_done       BIGINT NOT NULL,
    review_on       TEXT NOT NULL,
    added_by        BIGINT NOT NULL REFERENCES people(id),
    added_at        TEXT NOT NULL
);
CREATE INDEX data_processors_school ON data_processors(school_id, name);
ALTER TABLE data_processors ENABLE ROW LEVEL SECURITY;
ALTER TABLE data_processors FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON data_processors USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON data_processors TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE data_processors_id_seq TO palisade_app;
