-- The inspection certificate's expiry date of each lift (YYYY-MM-DD, ''
-- unknown), from the register: periodic inspection planning
-- (docs/maintenance.md, "Periodic inspection").
ALTER TABLE lifts ADD COLUMN cert_expiry VARCHAR(10) NOT NULL DEFAULT '';

-- One snapshot a Shanghai day of each lift's lifetime counters (the first
-- the maintenance loop saw that day, at the terminal's event time in Unix
-- milliseconds), so that the daily usage means of the on-demand formula
-- survive a restart (docs/maintenance.md, "Usage and health").
CREATE TABLE counter_days (
    lift        VARCHAR(64) NOT NULL,
    day         VARCHAR(10) NOT NULL,
    at          BIGINT      NOT NULL,
    trips       BIGINT      NOT NULL,
    door_cycles BIGINT      NOT NULL,
    run_s       BIGINT      NOT NULL,
    PRIMARY KEY (lift, day)
);
