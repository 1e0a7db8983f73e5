-- Where staff are mailed (alerts go to the safeguarding leads).
ALTER TABLE people ADD COLUMN email TEXT;

-- Mail waiting to go, sent, or failing: nothing is lost when the mail server is down; failed
-- sends are retried with a growing pause and shown to the safeguarding leads.
CREATE TABLE mail_outbox (
    id               INTEGER PRIMARY KEY,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    kind             TEXT NOT NULL,          -- alert | digest | reminder
    created_at       TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    next_attempt_at  TEXT NOT NULL,
    sent_at          TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox(sent_at, next_attempt_at);
