-- People of the school community, their login accounts, parent links and sessions.
CREATE TABLE people (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    kind          TEXT NOT NULL,              -- pupil | staff | governor | parent | visitor
    roles         TEXT NOT NULL,              -- comma-separated role identifiers
    year_group    TEXT,
    class_name    TEXT,
    active        BIGINT NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    left_at       TEXT
);

CREATE TABLE accounts (
    person_id           BIGINT PRIMARY KEY REFERENCES people(id),
    password_hash       TEXT NOT NULL,
    active              BIGINT NOT NULL DEFAULT 1,
    failed_logins       BIGINT NOT NULL DEFAULT 0,
    locked_until        TEXT,
    password_changed_at TEXT NOT NULL,
    created_at          TEXT NOT NULL
);

CREATE TABLE parent_links (
    parent_id  BIGINT NOT NULL REFERENCES people(id),
    child_id   BIGINT NOT NULL REFERENCES people(id),
    PRIMARY KEY (parent_id, child_id)
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    person_id   BIGINT NOT NULL REFERENCES people(id),
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX sessions_person ON sessions(person_id);
