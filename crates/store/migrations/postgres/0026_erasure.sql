-- Erasure past retention (issue 20, part 3): when a person's records were erased. The row itself
-- stays, anonymised (no names, no identifiers, no dates of their life), because other people's
-- records and the audit chain still point at its id; what was erased is counted in the
-- `person.erased` audit row.
ALTER TABLE people ADD COLUMN erased_at TEXT;
