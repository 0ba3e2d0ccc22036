-- A source reference names something of its own lift (a work order, an
-- insurance policy, a bank transaction): unique per lift, so a reference
-- posted on one lift can never stop another lift's posting (issue 18).
DROP INDEX fund_entries_source;
CREATE UNIQUE INDEX fund_entries_source ON fund_entries (lift, source_ref) WHERE source_ref <> '';
