-- A new account's first password is set by its holder, not by whoever made the account: the
-- one-time link's token is kept only as its SHA-256, with when it stops working; it works once.
CREATE TABLE account_welcomes (
    token_hash  TEXT PRIMARY KEY,
    person_id   BIGINT NOT NULL REFERENCES people(id),
    created_by  BIGINT REFERENCES people(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX account_welcomes_person ON account_welcomes(person_id);
