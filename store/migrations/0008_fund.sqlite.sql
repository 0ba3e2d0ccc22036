-- The owners' maintenance fund (资金筹集): households and their shares, the
-- append-only ledger (entries and their per-household lines; triggers refuse
-- UPDATE and DELETE, a correction is a reversing entry), and the supervised
-- bank account's imported statements. Amounts are integer fen; dates are
-- Shanghai calendar dates YYYY-MM-DD; times Unix milliseconds. The two
-- variants of this version differ in id generation and trigger syntax.
CREATE TABLE fund_households (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lift    VARCHAR(64)  NOT NULL,
    unit    VARCHAR(32)  NOT NULL,
    floor   INTEGER      NOT NULL,
    share   BIGINT       NOT NULL,
    contact VARCHAR(128) NOT NULL
);
CREATE UNIQUE INDEX fund_households_unit ON fund_households (lift, unit);
CREATE TABLE fund_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lift        VARCHAR(64)  NOT NULL,
    kind        VARCHAR(16)  NOT NULL,
    category    VARCHAR(32)  NOT NULL,
    amount_fen  BIGINT       NOT NULL,
    entry_date  VARCHAR(10)  NOT NULL,
    recorded_at BIGINT       NOT NULL,
    actor       VARCHAR(128) NOT NULL,
    reason      TEXT         NOT NULL,
    source_ref  VARCHAR(160) NOT NULL,
    bank_ref    VARCHAR(128) NOT NULL,
    reverses    BIGINT
);
CREATE UNIQUE INDEX fund_entries_source ON fund_entries (source_ref) WHERE source_ref <> '';
CREATE UNIQUE INDEX fund_entries_reverses ON fund_entries (reverses) WHERE reverses IS NOT NULL;
CREATE INDEX fund_entries_lift ON fund_entries (lift, entry_date);
CREATE TABLE fund_lines (
    entry_id     BIGINT NOT NULL,
    household_id BIGINT NOT NULL,
    amount_fen   BIGINT NOT NULL,
    PRIMARY KEY (entry_id, household_id)
);
CREATE INDEX fund_lines_household ON fund_lines (household_id);
CREATE TABLE bank_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lift        VARCHAR(64)  NOT NULL,
    file_name   VARCHAR(256) NOT NULL,
    file_hash   VARCHAR(64)  NOT NULL,
    imported_at BIGINT       NOT NULL,
    actor       VARCHAR(128) NOT NULL,
    lines       INTEGER      NOT NULL,
    new_lines   INTEGER      NOT NULL
);
CREATE UNIQUE INDEX bank_imports_hash ON bank_imports (lift, file_hash);
CREATE TABLE bank_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lift         VARCHAR(64)  NOT NULL,
    txn_id       VARCHAR(64)  NOT NULL,
    import_id    BIGINT       NOT NULL,
    line_no      INTEGER      NOT NULL,
    booked       VARCHAR(10)  NOT NULL,
    value_date   VARCHAR(10)  NOT NULL,
    amount_fen   BIGINT       NOT NULL,
    counterparty VARCHAR(256) NOT NULL,
    reference    VARCHAR(128) NOT NULL,
    balance_fen  BIGINT       NOT NULL
);
CREATE UNIQUE INDEX bank_lines_txn ON bank_lines (lift, txn_id);
CREATE INDEX bank_lines_booked ON bank_lines (lift, booked);
CREATE TRIGGER fund_entries_no_update BEFORE UPDATE ON fund_entries BEGIN SELECT RAISE(ABORT, 'fund entries are immutable: post a reversal'); END;
CREATE TRIGGER fund_entries_no_delete BEFORE DELETE ON fund_entries BEGIN SELECT RAISE(ABORT, 'fund entries are immutable: post a reversal'); END;
CREATE TRIGGER fund_lines_no_update BEFORE UPDATE ON fund_lines BEGIN SELECT RAISE(ABORT, 'fund entries are immutable: post a reversal'); END;
CREATE TRIGGER fund_lines_no_delete BEFORE DELETE ON fund_lines BEGIN SELECT RAISE(ABORT, 'fund entries are immutable: post a reversal'); END;
