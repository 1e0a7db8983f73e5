-- The device register's management (issue 20, part 4): whether and where a device is enrolled
-- in mobile device management and when it was last seen there, whether a PIN or passcode is
-- set, the school-owned account signed in on it (the Apple ID or Google account a leaver must
-- hand over so the device can be reset).
ALTER TABLE devices ADD COLUMN mdm TEXT;
ALTER TABLE devices ADD COLUMN mdm_last_seen TEXT;
ALTER TABLE devices ADD COLUMN passcode_set BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN school_account TEXT;

-- What a guest account is for (visitor, supply_teacher): on their slip and the people list.
ALTER TABLE people ADD COLUMN guest_purpose TEXT;

-- Loans: a device lent to a person from a day, due back on another, returned (with its
-- condition) or not yet. Open loans are on the holder's record and their leavers' checklist.
CREATE TABLE device_loans (
    id               BIGSERIAL PRIMARY KEY,
    school_id        BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    device_id        BIGINT NOT NULL REFERENCES devices(id),
    person_id        BIGINT NOT NULL REFERENCES people(id),
    lent_on          TEXT NOT NULL,
    due_on           TEXT,
    condition_out    TEXT NOT NULL,
    lent_by          BIGINT NOT NULL REFERENCES people(id),
    returned_on      TEXT,
    condition_back   TEXT,
    returned_by      BIGINT REFERENCES people(id)
);
CREATE INDEX device_loans_person ON device_loans(school_id, person_id);
CREATE UNIQUE INDEX device_loans_open ON device_loans(school_id, device_id) WHERE returned_on IS NULL;

-- Lost or stolen reports, and the device found again.
CREATE TABLE device_reports (
    id           BIGSERIAL PRIMARY KEY,
    school_id    BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    device_id    BIGINT NOT NULL REFERENCES devices(id),
    kind         TEXT NOT NULL,            -- lost | stolen | found
    note         TEXT NOT NULL,
    reported_by  BIGINT NOT NULL REFERENCES people(id),
    reported_at  TEXT NOT NULL
);
CREATE INDEX device_reports_device ON device_reports(school_id, device_id, id);

-- The leavers' checklist: the profile's items ticked for a leaver, with who and when. Loans
-- are on it too, ticked by their return.
CREATE TABLE leaver_ticks (
    id          BIGSERIAL PRIMARY KEY,
    school_id   BIGINT NOT NULL DEFAULT palisade_school() REFERENCES schools(id),
    person_id   BIGINT NOT NULL REFERENCES people(id),
    item        TEXT NOT NULL,
    note        TEXT NOT NULL,
    ticked_by   BIGINT NOT NULL REFERENCES people(id),
    ticked_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX leaver_ticks_item ON leaver_ticks(school_id, person_id, item);
ALTER TABLE device_loans ENABLE ROW LEVEL SECURITY;
ALTER TABLE device_loans FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON device_loans USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON device_loans TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE device_loans_id_seq TO palisade_app;
ALTER TABLE device_reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE device_reports FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON device_reports USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON device_reports TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE device_reports_id_seq TO palisade_app;
ALTER TABLE leaver_ticks ENABLE ROW LEVEL SECURITY;
ALTER TABLE leaver_ticks FORCE ROW LEVEL SECURITY;
CREATE POLICY school_rows ON leaver_ticks USING (school_id = ANY (palisade_schools()))
    WITH CHECK (school_id = ANY (palisade_schools()));
GRANT SELECT, INSERT, UPDATE, DELETE ON leaver_ticks TO palisade_app;
GRANT USAGE, SELECT ON SEQUENCE leaver_ticks_id_seq TO palisade_app;
