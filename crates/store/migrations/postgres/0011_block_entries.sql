-- The school's own entries may also block a host for a group ("we have the ability to directly
-- block websites"), not only allow one. Earlier rows are all allow entries.
ALTER TABLE allow_entries ADD COLUMN kind TEXT NOT NULL DEFAULT 'allow' CHECK (kind IN ('allow', 'block'));
