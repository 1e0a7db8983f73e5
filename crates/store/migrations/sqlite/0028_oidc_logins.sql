-- Sign-ins through the school's OpenID Connect provider (issue 21, part 2) on their way: the
-- browser went to the provider and has not come back yet. Only a hash of the `state` sent to
-- the provider is stored; the row holds the nonce the ID token must carry and the PKCE
-- verifier the code is exchanged with. A row is used once (taken by the callback, whatever
-- happens next) and runs out after ten minutes. Kept in the database so that a sign-in
-- survives a restart and works whichever server process the callback reaches.
CREATE TABLE oidc_logins (
    state_hash     TEXT PRIMARY KEY,
    school_id      INTEGER NOT NULL DEFAULT 1,
    nonce          TEXT NOT NULL,
    pkce_verifier  TEXT NOT NULL,
    next_path      TEXT NOT NULL,
    redirect_url   TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL
);
CREATE INDEX oidc_logins_expiry ON oidc_logins(expires_at);

-- How a session was signed in: NULL for the password (and its code), `oidc` for the school's
-- provider, which did the second factor itself (so the profile's `totp_required_for` and
-- password rotation do not hold such a session back).
ALTER TABLE sessions ADD COLUMN method TEXT;
