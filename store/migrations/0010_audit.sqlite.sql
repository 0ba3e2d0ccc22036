-- The audit log: every state change and login attempt, who, what, when (Unix
-- milliseconds), from where. Append-only; listed newest first by id.
-- The postgres variant of this version is 0010_audit.postgres.sql.
CREATE TABLE audit_log (
    id         INTEGER      PRIMARY KEY AUTOINCREMENT,
    at         BIGINT       NOT NULL,
    actor_id   BIGINT       NOT NULL,
    actor_name VARCHAR(128) NOT NULL,
    role       VARCHAR(16)  NOT NULL,
    action     VARCHAR(256) NOT NULL,
    object     VARCHAR(256) NOT NULL,
    remote     VARCHAR(64)  NOT NULL,
    outcome    VARCHAR(16)  NOT NULL,
    detail     TEXT         NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
