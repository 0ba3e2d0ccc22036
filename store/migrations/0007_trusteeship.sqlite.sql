-- Property trusteeship (物业托管): per lift, effective-dated managers and
-- maintenance contracts, and the audit trail of every change. Dates are
-- Shanghai calendar dates as YYYY-MM-DD ('' = open end), so they compare as
-- text; times are Unix milliseconds. The two variants of this version differ
-- only in how ids are generated (see 0004_generated_ids).
CREATE TABLE lift_managers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lift       VARCHAR(64)  NOT NULL,
    kind       VARCHAR(32)  NOT NULL,
    name       VARCHAR(128) NOT NULL,
    contact    VARCHAR(128) NOT NULL,
    valid_from VARCHAR(10)  NOT NULL,
    valid_to   VARCHAR(10)  NOT NULL
);
CREATE INDEX lift_managers_lift ON lift_managers (lift, valid_from);
CREATE TABLE maintenance_contracts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lift          VARCHAR(64)  NOT NULL,
    contractor    VARCHAR(128) NOT NULL,
    start_date    VARCHAR(10)  NOT NULL,
    end_date      VARCHAR(10)  NOT NULL,
    mode          VARCHAR(16)  NOT NULL,
    price_fen     BIGINT       NOT NULL,
    good_standing BOOLEAN      NOT NULL,
    insured       BOOLEAN      NOT NULL
);
CREATE INDEX maintenance_contracts_lift ON maintenance_contracts (lift, start_date);
CREATE TABLE trusteeship_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lift    VARCHAR(64)  NOT NULL,
    at      BIGINT       NOT NULL,
    actor   VARCHAR(128) NOT NULL,
    action  VARCHAR(32)  NOT NULL,
    subject VARCHAR(16)  NOT NULL,
    before_json TEXT     NOT NULL,
    after_json  TEXT     NOT NULL
);
CREATE INDEX trusteeship_audit_lift ON trusteeship_audit (lift, id);
