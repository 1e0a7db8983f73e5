-- Row-level security (issue 17, part 2). The service acts as palisade_app on every connection
-- (Store::open drops to it with SET ROLE after running these migrations as the owner), a role
-- that owns nothing and cannot bypass row-level security. Each transaction of the service first
-- sets the school it acts in (palisade.school) and the schools it may read (palisade.schools,
-- which includes that one) with set_config(.., true), which lasts to the end of the transaction.
-- Without a setting a school-owned table shows no rows and takes none.
--
-- Roles belong to the PostgreSQL cluster, not the database: several Palisade databases on one
-- server share palisade_app, and two migrating at once may race to create it.
DO $$
BEGIN
    CREATE ROLE palisade_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- The acting school, or NULL when none is set (a column default of NULL fails NOT NULL).
CREATE FUNCTION palisade_school() RETURNS BIGINT LANGUAGE sql STABLE AS
$$ SELECT NULLIF(current_setting('palisade.school', true), '')::BIGINT $$;

-- The schools the transaction may read and write, or none.
CREATE FUNCTION palisade_schools() RETURNS BIGINT[] LANGUAGE sql STABLE AS
$$ SELECT COALESCE(NULLIF(current_setting('palisade.schools', true), '')::BIGINT[], '{}'::BIGINT[]) $$;

GRANT USAGE ON SCHEMA public TO palisade_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO palisade_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO palisade_app;
-- Tables and sequences later migrations make (as the same owner) are the service's too; each
-- school-owned one must still enable and force row-level security (a test checks every one).
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO palisade_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO palisade_app;
-- The trail is only ever added to; the migrations' own bookkeeping is the owner's.
REVOKE UPDATE, DELETE ON audit_log FROM palisade_app;
REVOKE INSERT, UPDATE, DELETE ON _sqlx_migrations FROM palisade_app;
-- Schools are added by the operator (`palisade school add`, as the owner); the service reads
-- them and names school 1 after its profile.
REVOKE INSERT, DELETE ON schools FROM palisade_app;

-- Each school's audit chain runs 1, 2, 3, ... on its own.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD PRIMARY KEY (school_id, id);

-- Keys that held for one school hold per school.
ALTER TABLE access_daily DROP CONSTRAINT access_daily_pkey;
ALTER TABLE access_daily ADD PRIMARY KEY (school_id, day, source, group_name, verdict, category);
ALTER TABLE access_days_counted DROP CONSTRAINT access_days_counted_pkey;
ALTER TABLE access_days_counted ADD PRIMARY KEY (school_id, day);
ALTER TABLE attachments DROP CONSTRAINT attachments_sha256_fkey;
ALTER TABLE blobs DROP CONSTRAINT blobs_pkey;
ALTER TABLE blobs ADD PRIMARY KEY (school_id, sha256);
ALTER TABLE attachments ADD FOREIGN KEY (school_id, sha256) REFERENCES blobs(school_id, sha256);
DROP INDEX devices_name;
DROP INDEX devices_ip;
DROP INDEX devices_mac;
CREATE UNIQUE INDEX devices_name ON devices(school_id, name) WHERE retired_at IS NULL;
CREATE UNIQUE INDEX devices_ip ON devices(school_id, ip) WHERE retired_at IS NULL AND ip IS NOT NULL;
CREATE UNIQUE INDEX devices_mac ON devices(school_id, mac) WHERE retired_at IS NULL AND mac IS NOT NULL;

-- Who signs in where: a sign-in names a user, not a school, and must find the school before it
-- may look at anything of the school's. Usernames are unique in the whole database; this holds
-- nothing else, and is kept by the trigger below.
CREATE TABLE logins (
    username   TEXT PRIMARY KEY,
    school_id  BIGINT NOT NULL REFERENCES schools(id)
);
INSERT INTO logins (username, school_id) SELECT username, school_id FROM people;
CREATE FUNCTION people_logins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM logins WHERE username = OLD.username;
    END IF;
    INSERT INTO logins (username, school_id) VALUES (NEW.username, NEW.school_id);
    RETURN NEW;
END $$;
CREATE TRIGGER people_logins AFTER INSERT OR UPDATE OF username, school_id ON people
FOR EACH ROW EXECUTE FUNCTION people_logins();
GRANT SELECT, INSERT, DELETE ON logins TO palisade_app;

-- Every school-owned table: rows of the transaction's schools only, new rows in the acting
-- school unless given one of those schools.
DO $$
DECLARE t TEXT;
BEGIN
    FOR t IN SELECT c.table_name FROM information_schema.columns c
             JOIN information_schema.tables tb
               ON tb.table_name = c.table_name AND tb.table_schema = c.table_schema
             WHERE c.table_schema = 'public' AND c.column_name = 'school_id'
               AND tb.table_type = 'BASE TABLE' AND c.table_name <> 'logins'
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY school_rows ON %I USING (school_id = ANY (palisade_schools())) '
                       'WITH CHECK (school_id = ANY (palisade_schools()))', t);
        EXECUTE format('ALTER TABLE %I ALTER COLUMN school_id SET DEFAULT palisade_school()', t);
    END LOOP;
END
$$;
