-- The compliance registers of issue 18: training (part 1), policies and codes with their
-- acknowledgements (part 2), photo and video consent (part 3). Every row belongs to a school,
-- with row-level security as every other school-owned table (0017).

-- A training session: one course on one day, for one person or a whole staff meeting, with its
-- evidence (a note, and a file kept in blobs). Expiry follows from the profile, never stored.
CREATE TABLE training_sessions (
    id              BIGSERIAL PRIMARY KEY,
    school_id       BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    course          TEXT NOT NULL,
    held_on         TEXT NOT NULL,
    note            TEXT NOT NULL,
    evidence_name   TEXT,
    evidence_type   TEXT,
    evidence_sha256 TEXT,
    recorded_by     BIGINT NOT NULL REFERENCES people(id),
    recorded_at     TEXT NOT NULL
);
CREATE TABLE training_attendance (
    id          BIGSERIAL PRIMARY KEY,
    school_id   BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    session_id  BIGINT NOT NULL REFERENCES training_sessions(id),
    person_id   BIGINT NOT NULL REFERENCES people(id)
);
CREATE INDEX training_attendance_person ON training_attendance(school_id, person_id);

-- Versions of the policy and the codes of conduct: a text people read and sign, and the
-- approved document as a file (kept in blobs) where the school has one.
CREATE TABLE policy_documents (
    id           BIGSERIAL PRIMARY KEY,
    school_id    BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    kind         TEXT NOT NULL,
    version      TEXT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    revised_by   TEXT NOT NULL,
    approved_on  TEXT,
    minute_ref   TEXT NOT NULL,
    review_on    TEXT NOT NULL,
    file_name    TEXT,
    file_type    TEXT,
    file_sha256  TEXT,
    added_by     BIGINT NOT NULL REFERENCES people(id),
    added_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX policy_documents_version ON policy_documents(school_id, kind, version);

-- Who acknowledged which version of which document, when and how (their own login, the proxy's
-- click-through, or a paper sign-off a teacher recorded). One register for the web pages' gate
-- and the proxy: it takes over from aup_acceptances, whose rows are copied here.
CREATE TABLE acknowledgements (
    id               BIGSERIAL PRIMARY KEY,
    school_id        BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    person_id        BIGINT NOT NULL REFERENCES people(id),
    document         TEXT NOT NULL,
    version          TEXT NOT NULL,
    acknowledged_at  TEXT NOT NULL,
    method           TEXT NOT NULL,
    recorded_by      BIGINT REFERENCES people(id),
    client_ip        TEXT NOT NULL
);
CREATE INDEX acknowledgements_person ON acknowledgements(school_id, person_id, document, version);
-- Row-level security is forced on the owner too: the copy reads every school's rows.
SELECT set_config('palisade.schools',
                  COALESCE((SELECT '{' || string_agg(id::text, ',') || '}' FROM schools), '{}'), true);
INSERT INTO acknowledgements (school_id, person_id, document, version, acknowledged_at, method,
                              recorded_by, client_ip)
SELECT a.school_id, a.person_id,
       CASE p.kind WHEN 'pupil' THEN 'pupil_code' WHEN 'parent' THEN 'parent_code'
                   WHEN 'visitor' THEN 'visitor_code' ELSE 'staff_code' END,
       a.version, a.accepted_at, 'own_login', NULL, a.client_ip
FROM aup_acceptances a JOIN people p ON p.id = a.person_id;

-- Photo and video consent: every answer kept; the newest for a pupil and purpose decides.
CREATE TABLE photo_consents (
    id           BIGSERIAL PRIMARY KEY,
    school_id    BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    pupil_id     BIGINT NOT NULL REFERENCES people(id),
    purpose      TEXT NOT NULL,
    given        BIGINT NOT NULL,
    named        BIGINT NOT NULL,
    by_whom      TEXT NOT NULL,
    given_on     TEXT NOT NULL,
    note         TEXT NOT NULL,
    recorded_by  BIGINT NOT NULL REFERENCES people(id),
    recorded_at  TEXT NOT NULL
);
CREATE INDEX photo_consents_pupil ON photo_consents(school_id, pupil_id, purpose, id);

ALTER TABLE training_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE training_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON training_sessions USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON training_sessions TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE training_sessions_id_seq TO palisade_app;
ALTER TABLE training_attendance ENABLE ROW LEVEL SECURITY;
ALTER TABLE training_attendance FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON training_attendance USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON training_attendance TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE training_attendance_id_seq TO palisade_app;
ALTER TABLE policy_documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE policy_documents FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON policy_documents USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON policy_documents TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE policy_documents_id_seq TO palisade_app;
ALTER TABLE acknowledgements ENABLE ROW LEVEL SECURITY;
ALTER TABLE acknowledgements FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON acknowledgements USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON acknowledgements TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE acknowledgements_id_seq TO palisade_app;
ALTER TABLE photo_consents ENABLE ROW LEVEL SECURITY;
ALTER TABLE photo_consents FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON photo_consents USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON photo_consents TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE photo_consents_id_seq TO palisade_app;
