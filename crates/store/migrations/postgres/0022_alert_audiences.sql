-- Who reads each alert (issue 19, part 5): the safeguarding team for a pupil's traffic, the
-- route for concerns about staff for a member of staff's, the network manager and the team for
-- Palisade's own (a monitoring gap, a failed self-test), the profile's `escalate_to` and the team
-- for a concern nobody triaged in time.
ALTER TABLE alerts ADD COLUMN audience TEXT NOT NULL DEFAULT 'safeguarding';
UPDATE alerts SET audience = 'system' WHERE subject = 'system';
CREATE INDEX alerts_audience ON alerts(audience, status, last_at);

-- When a concern left untriaged past the profile's `triage_within_hours` was escalated, so that
-- it is escalated once.
ALTER TABLE concerns ADD COLUMN triage_escalated_at TEXT;
