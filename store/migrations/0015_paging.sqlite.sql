-- The pager's outbox (alerts/paging): every page to a person is a row,
-- written before it is sent; and each alert's paging progress (the chain of
-- people, who is next and when), so a restart continues it. The link's
-- token is kept as its hex SHA-256 only. Times are Unix milliseconds.
CREATE TABLE pages (
    id            INTEGER      PRIMARY KEY AUTOINCREMENT,
    alert_id      BIGINT       NOT NULL,
    lift          VARCHAR(64)  NOT NULL,
    tier          INTEGER      NOT NULL,
    person_id     VARCHAR(128) NOT NULL,
    person_name   VARCHAR(128) NOT NULL,
    role          VARCHAR(32)  NOT NULL,
    user_name     VARCHAR(64)  NOT NULL,
    lang          VARCHAR(8)   NOT NULL,
    contact       INTEGER      NOT NULL,
    channel       VARCHAR(64)  NOT NULL,
    to_addr       VARCHAR(256) NOT NULL,
    subject       TEXT         NOT NULL,
    text          TEXT         NOT NULL,
    params        TEXT         NOT NULL,
    state         VARCHAR(16)  NOT NULL,
    attempts      INTEGER      NOT NULL,
    next_at       BIGINT       NOT NULL,
    last_error    TEXT         NOT NULL,
    retryable     BOOLEAN      NOT NULL,
    idem_key      VARCHAR(64)  NOT NULL UNIQUE,
    token_hash    VARCHAR(64)  NOT NULL,
    token_expires BIGINT       NOT NULL,
    token_spent   BIGINT,
    created_at    BIGINT       NOT NULL,
    sent_at       BIGINT,
    delivered_at  BIGINT,
    acked_at      BIGINT,
    acked_by      VARCHAR(128) NOT NULL,
    updated_at    BIGINT       NOT NULL
);
CREATE INDEX pages_alert ON pages (alert_id);
CREATE INDEX pages_state ON pages (state);
CREATE INDEX pages_token ON pages (token_hash);
CREATE TABLE paging_chains (
    alert_id   BIGINT       PRIMARY KEY,
    lift       VARCHAR(64)  NOT NULL,
    estate     VARCHAR(64)  NOT NULL,
    contractor VARCHAR(256) NOT NULL,
    type       VARCHAR(96)  NOT NULL,
    tier       INTEGER      NOT NULL,
    people     TEXT         NOT NULL,
    next_at    BIGINT       NOT NULL,
    done       BOOLEAN      NOT NULL,
    failed     BOOLEAN      NOT NULL,
    updated_at BIGINT       NOT NULL
);
CREATE INDEX paging_chains_done ON paging_chains (done);
