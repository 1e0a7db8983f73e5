-- The device register: school devices by address, who holds each, and the filtering group it
-- belongs in when that differs from its subnet's. The gateways name the device and its holder in
-- the access log. Retired devices stay on record.
CREATE TABLE devices (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    ip          TEXT,
    mac         TEXT,
    holder_id   INTEGER REFERENCES people(id),
    group_name  TEXT,
    added_by    INTEGER NOT NULL REFERENCES people(id),
    added_at    TEXT NOT NULL,
    retired_by  INTEGER REFERENCES people(id),
    retired_at  TEXT
);
CREATE UNIQUE INDEX devices_name ON devices(name) WHERE retired_at IS NULL;
CREATE UNIQUE INDEX devices_ip ON devices(ip) WHERE retired_at IS NULL AND ip IS NOT NULL;
CREATE UNIQUE INDEX devices_mac ON devices(mac) WHERE retired_at IS NULL AND mac IS NOT NULL;
