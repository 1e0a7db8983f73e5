-- Most DNS queries come from devices nobody is signed in on. Indexing only the rows that name a
-- person spares every anonymous row a second index entry (a pupil's own history still finds its
-- rows through `person_id = ?`, which implies the index's condition).
DROP INDEX access_log_person;
CREATE INDEX access_log_person ON access_log(person_id, at) WHERE person_id IS NOT NULL;
