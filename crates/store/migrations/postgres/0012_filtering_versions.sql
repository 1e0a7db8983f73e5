-- Each version of the profile's [filtering] section that was put in force (at start, on SIGHUP,
-- or from the web), so that the next one can be compared with it and the decision log can say
-- what changed, even when the file was edited while Palisade was stopped.
CREATE TABLE filtering_versions (
    id          BIGSERIAL PRIMARY KEY,
    at          TEXT NOT NULL,
    sha256      TEXT NOT NULL,             -- of the filtering section as stored below
    filtering   TEXT NOT NULL,             -- the section as JSON
    audit_id    BIGINT NOT NULL            -- the audit row that recorded it
);
