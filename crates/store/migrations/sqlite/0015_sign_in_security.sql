-- When a session was last used, so that one left idle past the profile's
-- [passwords] session_idle_minutes is refused (NULL: not used since it began).
ALTER TABLE sessions ADD COLUMN last_seen_at TEXT;

-- Failed sign-ins (unknown names, wrong passwords, attempts while locked) and requests refused
-- to a signed-in person, with the source address, for the Headteacher and network manager.
-- Never the attempted password; the name as typed, cut to 64 characters.
CREATE TABLE sign_in_failures (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    reason     TEXT NOT NULL,          -- unknown_or_wrong, locked, denied
    source     TEXT,                   -- the client's IP address, if known
    username   TEXT,                   -- as typed (sign-ins) or the person's (denied)
    path       TEXT                    -- the refused request's path (denied)
);
CREATE INDEX sign_in_failures_at ON sign_in_failures(at);
