-- Alerts and their full history; times are Unix milliseconds.
CREATE TABLE alerts (
    id               BIGINT       PRIMARY KEY,
    lift             VARCHAR(64)  NOT NULL,
    estate           VARCHAR(64)  NOT NULL,
    type             VARCHAR(96)  NOT NULL,
    severity         VARCHAR(16)  NOT NULL,
    rescue           BOOLEAN      NOT NULL,
    summary          TEXT         NOT NULL,
    state            VARCHAR(16)  NOT NULL,
    condition_active BOOLEAN      NOT NULL,
    derived          BOOLEAN      NOT NULL,
    suppressed       VARCHAR(64)  NOT NULL,
    count            BIGINT       NOT NULL,
    first_seen       BIGINT       NOT NULL,
    last_seen        BIGINT       NOT NULL,
    opened_at        BIGINT       NOT NULL,
    ack_at           BIGINT,
    ack_by           VARCHAR(128) NOT NULL,
    dispatched_at    BIGINT,
    dispatched_to    VARCHAR(256) NOT NULL,
    on_site_at       BIGINT,
    on_site_by       VARCHAR(128) NOT NULL,
    resolved_at      BIGINT,
    resolved_by      VARCHAR(128) NOT NULL,
    tier             INTEGER      NOT NULL,
    last_notified    BIGINT       NOT NULL
);
CREATE INDEX alerts_state ON alerts (state);
CREATE INDEX alerts_lift ON alerts (lift, opened_at);
CREATE INDEX alerts_estate ON alerts (estate, opened_at);
CREATE TABLE alert_events (
    alert_id BIGINT       NOT NULL,
    seq      INTEGER      NOT NULL,
    at       BIGINT       NOT NULL,
    action   VARCHAR(32)  NOT NULL,
    actor    VARCHAR(128) NOT NULL,
    note     TEXT         NOT NULL,
    tier     INTEGER      NOT NULL,
    PRIMARY KEY (alert_id, seq)
);
CREATE TABLE silences (
    id         BIGINT       PRIMARY KEY,
    lift       VARCHAR(64)  NOT NULL,
    estate     VARCHAR(64)  NOT NULL,
    starts_at  BIGINT       NOT NULL,
    ends_at    BIGINT       NOT NULL,
    reason     TEXT         NOT NULL,
    created_by VARCHAR(128) NOT NULL,
    created_at BIGINT       NOT NULL
);
CREATE TABLE notifications (
    id          BIGINT       PRIMARY KEY,
    alert_id    BIGINT       NOT NULL,
    receiver    VARCHAR(128) NOT NULL,
    event       VARCHAR(32)  NOT NULL,
    tier        INTEGER      NOT NULL,
    at          BIGINT       NOT NULL,
    attempts    INTEGER      NOT NULL,
    outcome     VARCHAR(16)  NOT NULL,
    status_code INTEGER      NOT NULL,
    error       TEXT         NOT NULL,
    retryable   BOOLEAN      NOT NULL
);
CREATE INDEX notifications_alert ON notifications (alert_id);
