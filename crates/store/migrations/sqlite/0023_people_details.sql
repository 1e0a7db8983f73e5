-- What a school's management information system knows of a person (issue 20): the MIS's own
-- identifier (matches a re-import to the same person), the pupil's UPN, legal name beside the
-- preferred `display_name`, date of birth (the retention of child protection records runs from
-- it), admission and leaving dates, and a phone number for parents and carers. `leaves_on` is a
-- leaving date set in advance: on it the accounts close by themselves. `expires_at` ends a guest
-- account (a visitor or supply teacher) at the time its creator chose.
ALTER TABLE people ADD COLUMN mis_id TEXT;
ALTER TABLE people ADD COLUMN upn TEXT;
ALTER TABLE people ADD COLUMN legal_name TEXT;
ALTER TABLE people ADD COLUMN date_of_birth TEXT;
ALTER TABLE people ADD COLUMN admitted_on TEXT;
ALTER TABLE people ADD COLUMN leaves_on TEXT;
ALTER TABLE people ADD COLUMN phone TEXT;
ALTER TABLE people ADD COLUMN expires_at TEXT;
CREATE UNIQUE INDEX people_mis_id ON people(school_id, kind, mis_id) WHERE mis_id IS NOT NULL;
CREATE INDEX people_leaves_on ON people(leaves_on) WHERE leaves_on IS NOT NULL;
CREATE INDEX people_expires_at ON people(expires_at) WHERE expires_at IS NOT NULL;

-- How a parent or carer is related to the pupil and whether they hold parental responsibility.
ALTER TABLE parent_links ADD COLUMN relationship TEXT;
ALTER TABLE parent_links ADD COLUMN parental_responsibility INTEGER NOT NULL DEFAULT 1;
