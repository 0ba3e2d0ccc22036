-- The (boot, seq) of the newest fault and alarm messages counted on each
-- alert ("boot:seq" items separated by spaces, at most alerts.EvidenceKept),
-- so that a message delivered again after a restart is not counted twice.
ALTER TABLE alerts ADD COLUMN evidence TEXT NOT NULL DEFAULT '';
