-- Sign-in security (issue 20, parts 5 and 6).
--
-- "My password may be known to someone": an account so marked (by its holder, the Headteacher
-- or the network manager) signs in only to set a new password, until it has one.
ALTER TABLE accounts ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;

-- A second factor (TOTP, RFC 6238: SHA-1, 6 digits, 30-second steps). The shared secret is
-- stored as base32, never logged; `totp_last_step` is the last time step a code was accepted
-- for, so that no code (nor an earlier one) works twice. A secret being set up waits in
-- `totp_pending_secret` until its holder confirms it with a code.
ALTER TABLE accounts ADD COLUMN totp_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_enrolled_at TEXT;
ALTER TABLE accounts ADD COLUMN totp_last_step BIGINT;
ALTER TABLE accounts ADD COLUMN totp_pending_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_pending_at TEXT;

-- One-time recovery codes, shown once at enrolment and kept only as the SHA-256 of the code
-- (80 random bits each). A used code keeps its row, with when it was used.
CREATE TABLE recovery_codes (
    id           BIGSERIAL PRIMARY KEY,
    school_id    BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    person_id    BIGINT NOT NULL REFERENCES people(id),
    code_sha256  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    used_at      TEXT
);
CREATE INDEX recovery_codes_person ON recovery_codes(school_id, person_id);

-- Half-way through a sign-in: the password was right and the code is still to come. Only a
-- hash of the token (in its own cookie) is stored; it reaches nothing but the code's form,
-- and ends after a few minutes, on the code, or on a new sign-in.
CREATE TABLE sign_in_challenges (
    token_hash  TEXT PRIMARY KEY,
    school_id   BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    person_id   BIGINT NOT NULL REFERENCES people(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX sign_in_challenges_person ON sign_in_challenges(school_id, person_id);

-- Both are school-owned, with row-level security as every other such table (0017).
ALTER TABLE recovery_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE recovery_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON recovery_codes USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON recovery_codes TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE recovery_codes_id_seq TO palisade_app;
ALTER TABLE sign_in_challenges ENABLE ROW LEVEL SECURITY;
ALTER TABLE sign_in_challenges FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON sign_in_challenges USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON sign_in_challenges TO palisade_app;
