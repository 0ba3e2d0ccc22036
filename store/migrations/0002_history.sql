-- Embedded telemetry history, used when no InfluxDB is configured. One row per
-- point; the key mirrors InfluxDB's point identity (series + timestamp), so a
-- replayed point overwrites itself instead of adding a row.
CREATE TABLE telemetry (
    kind    VARCHAR(16)  NOT NULL,
    lift    VARCHAR(64)  NOT NULL,
    ts_ns   BIGINT       NOT NULL,
    line    TEXT         NOT NULL,
    PRIMARY KEY (kind, lift, ts_ns)
);
