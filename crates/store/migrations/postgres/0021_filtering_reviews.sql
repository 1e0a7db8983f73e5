-- The DfE filtering and monitoring standard's records (issue 19, parts 2 and 3): checks made
-- with an outside tool, with their certificate file (kept in blobs); the annual review with its
-- participants, an answer to each of the standard's prompts, its findings and actions; and the
-- triggers that make a review due before the year is out. Every row belongs to a school.

CREATE TABLE filter_checks (
    id                  BIGSERIAL PRIMARY KEY,
    school_id           BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    checked_on          TEXT NOT NULL,
    tool                TEXT NOT NULL,
    device_type         TEXT NOT NULL,
    device_name         TEXT NOT NULL,
    site                TEXT NOT NULL,
    group_name          TEXT NOT NULL,
    passed              BIGINT NOT NULL,
    notes               TEXT NOT NULL,
    certificate_name    TEXT,
    certificate_type    TEXT,
    certificate_sha256  TEXT,
    recorded_by         BIGINT NOT NULL REFERENCES people(id),
    recorded_at         TEXT NOT NULL
);
CREATE INDEX filter_checks_group ON filter_checks(school_id, group_name, checked_on);

CREATE TABLE filtering_reviews (
    id           BIGSERIAL PRIMARY KEY,
    school_id    BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    held_on      TEXT NOT NULL,
    findings     TEXT NOT NULL,
    recorded_by  BIGINT NOT NULL REFERENCES people(id),
    recorded_at  TEXT NOT NULL
);
CREATE TABLE filtering_review_participants (
    id          BIGSERIAL PRIMARY KEY,
    school_id   BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    review_id   BIGINT NOT NULL REFERENCES filtering_reviews(id),
    person_id   BIGINT NOT NULL REFERENCES people(id)
);
CREATE INDEX filtering_review_participants_review ON filtering_review_participants(school_id, review_id);
CREATE TABLE filtering_review_answers (
    id          BIGSERIAL PRIMARY KEY,
    school_id   BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    review_id   BIGINT NOT NULL REFERENCES filtering_reviews(id),
    prompt      TEXT NOT NULL,
    answer      TEXT NOT NULL
);
CREATE INDEX filtering_review_answers_review ON filtering_review_answers(school_id, review_id);
-- An action is marked done later (done_on, done_by); nothing else about it changes.
CREATE TABLE filtering_review_actions (
    id          BIGSERIAL PRIMARY KEY,
    school_id   BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    review_id   BIGINT NOT NULL REFERENCES filtering_reviews(id),
    what        TEXT NOT NULL,
    owner_id    BIGINT NOT NULL REFERENCES people(id),
    due_on      TEXT NOT NULL,
    done_on     TEXT,
    done_by     BIGINT REFERENCES people(id)
);
CREATE INDEX filtering_review_actions_review ON filtering_review_actions(school_id, review_id);
CREATE TABLE filtering_review_triggers (
    id           BIGSERIAL PRIMARY KEY,
    school_id    BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    happened_on  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    reason       TEXT NOT NULL,
    recorded_by  BIGINT NOT NULL REFERENCES people(id),
    recorded_at  TEXT NOT NULL
);
ALTER TABLE filter_checks ENABLE ROW LEVEL SECURITY;
ALTER TABLE filter_checks FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON filter_checks USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON filter_checks TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE filter_checks_id_seq TO palisade_app;
ALTER TABLE filtering_reviews ENABLE ROW LEVEL SECURITY;
ALTER TABLE filtering_reviews FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON filtering_reviews USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON filtering_reviews TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE filtering_reviews_id_seq TO palisade_app;
ALTER TABLE filtering_review_participants ENABLE ROW LEVEL SECURITY;
ALTER TABLE filtering_review_participants FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON filtering_review_participants USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON filtering_review_participants TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE filtering_review_participants_id_seq TO palisade_app;
ALTER TABLE filtering_review_answers ENABLE ROW LEVEL SECURITY;
ALTER TABLE filtering_review_answers FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON filtering_review_answers USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON filtering_review_answers TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE filtering_review_answers_id_seq TO palisade_app;
ALTER TABLE filtering_review_actions ENABLE ROW LEVEL SECURITY;
ALTER TABLE filtering_review_actions FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON filtering_review_actions USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON filtering_review_actions TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE filtering_review_actions_id_seq TO palisade_app;
ALTER TABLE filtering_review_triggers ENABLE ROW LEVEL SECURITY;
ALTER TABLE filtering_review_triggers FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON filtering_review_triggers USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON filtering_review_triggers TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE filtering_review_triggers_id_seq TO palisade_app;
