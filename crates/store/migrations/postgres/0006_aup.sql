-- Acceptances of the Acceptable Use Policy, one row per person and version, with when and from
-- which device. The proxy shows the policy to whoever has not accepted the current version.
CREATE TABLE aup_acceptances (
    id           BIGSERIAL PRIMARY KEY,
    person_id    BIGINT NOT NULL REFERENCES people(id),
    version      TEXT NOT NULL,
    accepted_at  TEXT NOT NULL,
    client_ip    TEXT NOT NULL,
    UNIQUE (person_id, version)
);
