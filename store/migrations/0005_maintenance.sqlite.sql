-- Maintenance work orders, their history and supervision events; times are
-- Unix milliseconds. need_key identifies the need an order answers: at most
-- one live (not cancelled) order per need, so a restart or a repeated
-- trigger inserts nothing (INSERT … ON CONFLICT DO NOTHING). Records are
-- never deleted (kept at least 5 years, Shanghai 2023): a trigger refuses
-- DELETE. The other dialect's variant is 0005_maintenance.postgres.sql.
CREATE TABLE work_orders (
    id            INTEGER      PRIMARY KEY AUTOINCREMENT,
    lift          VARCHAR(64)  NOT NULL,
    estate        VARCHAR(64)  NOT NULL,
    kind          VARCHAR(16)  NOT NULL,
    need_key      VARCHAR(256) NOT NULL,
    level         INTEGER      NOT NULL,
    component     VARCHAR(64)  NOT NULL,
    reason        TEXT         NOT NULL,
    state         VARCHAR(16)  NOT NULL,
    window_start  BIGINT       NOT NULL,
    due           BIGINT       NOT NULL,
    contractor    VARCHAR(128) NOT NULL,
    technician    VARCHAR(128) NOT NULL,
    created_at    BIGINT       NOT NULL,
    started_at    BIGINT,
    completed_at  BIGINT,
    results       TEXT         NOT NULL,
    findings      TEXT         NOT NULL,
    parts_fen     BIGINT       NOT NULL,
    labour_fen    BIGINT       NOT NULL,
    tech_sign     TEXT         NOT NULL,
    manager_sign  TEXT         NOT NULL,
    proof         TEXT         NOT NULL
);
CREATE UNIQUE INDEX work_orders_need ON work_orders (need_key) WHERE state <> 'cancelled';
CREATE INDEX work_orders_lift ON work_orders (lift, kind, state);
-- Covers the refresh of one lift's routine_last row.
CREATE INDEX work_orders_history ON work_orders (kind, lift, level, state, completed_at);
CREATE INDEX work_orders_state ON work_orders (state, due);
CREATE INDEX work_orders_due ON work_orders (due);
CREATE TABLE work_order_events (
    work_order_id BIGINT       NOT NULL,
    seq           INTEGER      NOT NULL,
    at            BIGINT       NOT NULL,
    action        VARCHAR(32)  NOT NULL,
    actor         VARCHAR(128) NOT NULL,
    from_state    VARCHAR(16)  NOT NULL,
    to_state      VARCHAR(16)  NOT NULL,
    note          TEXT         NOT NULL,
    PRIMARY KEY (work_order_id, seq)
);
-- Per lift, the last Shanghai day (days since 1970-01-01) a routine visit of
-- each level or higher was signed done: the sweep's one read of every lift's
-- history, kept up to date in the same transaction as each routine order's
-- state change (store.Maintenance.refreshRoutineLast).
CREATE TABLE routine_last (
    lift          VARCHAR(64)  PRIMARY KEY,
    half_monthly  INTEGER      NOT NULL,
    quarterly     INTEGER      NOT NULL,
    semi_annual   INTEGER      NOT NULL,
    annual        INTEGER      NOT NULL
);
CREATE TABLE supervision_events (
    event_key     VARCHAR(256) PRIMARY KEY,
    kind          VARCHAR(32)  NOT NULL,
    lift          VARCHAR(64)  NOT NULL,
    estate        VARCHAR(64)  NOT NULL,
    contractor    VARCHAR(128) NOT NULL,
    work_order_id BIGINT       NOT NULL,
    at            BIGINT       NOT NULL,
    summary       TEXT         NOT NULL,
    delivered_at  BIGINT
);
CREATE INDEX supervision_events_pending ON supervision_events (delivered_at, at);
CREATE TRIGGER work_orders_keep BEFORE DELETE ON work_orders BEGIN SELECT RAISE(ABORT, 'maintenance records are kept at least 5 years: no deletion'); END;
CREATE TRIGGER work_order_events_keep BEFORE DELETE ON work_order_events BEGIN SELECT RAISE(ABORT, 'maintenance records are kept at least 5 years: no deletion'); END;
