-- Bank statement imports are written in chunks (issue 17: a 100,000-line
-- file in one transaction held SQLite's write lock for 16-29 s and delayed
-- the alerts). An import is staged first (state 'staging': its lines are
-- written in short transactions, and nobody reads them) and published in
-- one short final step (state 'done'). Readers take lines of done imports
-- only; an import that did not finish is dropped by the next import of the
-- lift (docs/fund.md, "Bulk work beside the alert path"). Version 21 leaves
-- room for the other migrations of issue 17; versions apply in any order.
ALTER TABLE bank_imports ADD COLUMN state VARCHAR(16) NOT NULL DEFAULT 'done';
CREATE INDEX bank_lines_import ON bank_lines (import_id);
