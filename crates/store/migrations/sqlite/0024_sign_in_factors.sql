-- Sign-in security (issue 20, parts 5 and 6).
--
-- "My password may be known to someone": an account so marked (by its holder, the Headteacher
-- or the network manager) signs in only to set a new password, until it has one.
ALTER TABLE accounts ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;

-- A second factor (TOTP, RFC 6238: SHA-1, 6 digits, 30-second steps). The shared secret is
-- stored as base32, never logged; `totp_last_step` is the last time step a code was accepted
-- for, so that no code (nor an earlier one) works twice. A secret being set up waits in
-- `totp_pending_secret` until its holder confirms it with a code.
ALTER TABLE accounts ADD COLUMN totp_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_enrolled_at TEXT;
ALTER TABLE accounts ADD COLUMN totp_last_step INTEGER;
ALTER TABLE accounts ADD COLUMN totp_pending_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_pending_at TEXT;

-- One-time recovery codes, shown once at enrolment and kept only as the SHA-256 of the code
-- (80 random bits each). A used code keeps its row, with when it was used.
CREATE TABLE recovery_codes (
    id           INTEGER PRIMARY KEY,
    school_id    INTEGER NOT NULL DEFAULT 1,
    person_id    INTEGER NOT NULL REFERENCES people(id),
    code_sha256  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    used_at      TEXT
);
CREATE INDEX recovery_codes_person ON recovery_codes(person_id);

-- Half-way through a sign-in: the password was right and the code is still to come. Only a
-- hash of the token (in its own cookie) is stored; it reaches nothing but the code's form,
-- and ends after a few minutes, on the code, or on a new sign-in.
CREATE TABLE sign_in_challenges (
    token_hash  TEXT PRIMARY KEY,
    school_id   INTEGER NOT NULL DEFAULT 1,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX sign_in_challenges_person ON sign_in_challenges(person_id);
