-- The compliance registers of issue 18: training (part 1), policies and codes with their
-- acknowledgements (part 2), photo and video consent (part 3). Every row belongs to a school.

-- A training session: one course on one day, for one person or a whole staff meeting, with its
-- evidence (a note, and a file kept in blobs). Expiry follows from the profile, never stored.
CREATE TABLE training_sessions (
    id              INTEGER PRIMARY KEY,
    school_id       INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
    course          TEXT NOT NULL,
    held_on         TEXT NOT NULL,
    note            TEXT NOT NULL,
    evidence_name   TEXT,
    evidence_type   TEXT,
    evidence_sha256 TEXT,
    recorded_by     INTEGER NOT NULL REFERENCES people(id),
    recorded_at     TEXT NOT NULL
);
CREATE TABLE training_attendance (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
    session_id  INTEGER NOT NULL REFERENCES training_sessions(id),
    person_id   INTEGER NOT NULL REFERENCES people(id)
);
CREATE INDEX training_attendance_person ON training_attendance(school_id, person_id);

-- Versions of the policy and the codes of conduct: a text people read and sign, and the
-- approved document as a file (kept in blobs) where the school has one.
CREATE TABLE policy_documents (
    id           INTEGER PRIMARY KEY,
    school_id    INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
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
    added_by     INTEGER NOT NULL REFERENCES people(id),
    added_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX policy_documents_version ON policy_documents(school_id, kind, version);

-- Who acknowledged which version of which document, when and how (their own login, the proxy's
-- click-through, or a paper sign-off a teacher recorded). One register for the web pages' gate
-- and the proxy: it takes over from aup_acceptances, whose rows are copied here.
CREATE TABLE acknowledgements (
    id               INTEGER PRIMARY KEY,
    school_id        INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
    person_id        INTEGER NOT NULL REFERENCES people(id),
    document         TEXT NOT NULL,
    version          TEXT NOT NULL,
    acknowledged_at  TEXT NOT NULL,
    method           TEXT NOT NULL,
    recorded_by      INTEGER REFERENCES people(id),
    client_ip        TEXT NOT NULL
);
CREATE INDEX acknowledgements_person ON acknowledgements(school_id, person_id, document, version);
INSERT INTO acknowledgements (school_id, person_id, document, version, acknowledged_at, method,
                              recorded_by, client_ip)
SELECT a.school_id, a.person_id,
       CASE p.kind WHEN 'pupil' THEN 'pupil_code' WHEN 'parent' THEN 'parent_code'
                   WHEN 'visitor' THEN 'visitor_code' ELSE 'staff_code' END,
       a.version, a.accepted_at, 'own_login', NULL, a.client_ip
FROM aup_acceptances a JOIN people p ON p.id = a.person_id;

-- Photo and video consent: every answer kept; the newest for a pupil and purpose decides.
CREATE TABLE photo_consents (
    id           INTEGER PRIMARY KEY,
    school_id    INTEGER NOT NULL DEFAULT 1 REFERENCES schools(id),
    pupil_id     INTEGER NOT NULL REFERENCES people(id),
    purpose      TEXT NOT NULL,
    given        INTEGER NOT NULL,
    named        INTEGER NOT NULL,
    by_whom      TEXT NOT NULL,
    given_on     TEXT NOT NULL,
    note         TEXT NOT NULL,
    recorded_by  INTEGER NOT NULL REFERENCES people(id),
    recorded_at  TEXT NOT NULL
);
CREATE INDEX photo_consents_pupil ON photo_consents(school_id, pupil_id, purpose, id);
