-- Accounts, browser sessions and API tokens (identity/). Secrets are never
-- stored: passwords as argon2id PHC strings, sessions and tokens as the hex
-- SHA-256 of the random value the client holds. Times are Unix milliseconds.
-- The postgres variant of this version is 0009_identity.postgres.sql.
CREATE TABLE users (
    id            INTEGER      PRIMARY KEY AUTOINCREMENT,
    name          VARCHAR(64)  NOT NULL UNIQUE,
    role          VARCHAR(16)  NOT NULL,
    scope         TEXT         NOT NULL,
    password_hash VARCHAR(256) NOT NULL,
    disabled      BOOLEAN      NOT NULL,
    created_at    BIGINT       NOT NULL
);
CREATE TABLE sessions (
    hash       VARCHAR(64)  PRIMARY KEY,
    user_id    BIGINT       NOT NULL REFERENCES users (id),
    created_at BIGINT       NOT NULL,
    last_seen  BIGINT       NOT NULL,
    expires_at BIGINT       NOT NULL,
    revoked_at BIGINT,
    remote     VARCHAR(64)  NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE TABLE api_tokens (
    id         INTEGER      PRIMARY KEY AUTOINCREMENT,
    user_id    BIGINT       NOT NULL REFERENCES users (id),
    name       VARCHAR(128) NOT NULL,
    prefix     VARCHAR(16)  NOT NULL,
    hash       VARCHAR(64)  NOT NULL UNIQUE,
    created_at BIGINT       NOT NULL,
    last_used  BIGINT,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
