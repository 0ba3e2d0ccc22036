-- Inspection-mode sessions (检修) as the live lift state saw them, kept so
-- that the proof of a maintenance visit survives a restart of the service
-- (the live state is in memory). start_at and end_at are Unix milliseconds
-- of the terminal's event time; a session still running when it was saved
-- has ended = false and end_at = the newest event time seen in it, and is
-- updated as it goes on. The maintenance loop saves them on every sweep and
-- at shutdown (docs/maintenance.md, "Running inside serve").
CREATE TABLE inspection_sessions (
    lift     VARCHAR(64) NOT NULL,
    start_at BIGINT      NOT NULL,
    end_at   BIGINT      NOT NULL,
    ended    BOOLEAN     NOT NULL,
    PRIMARY KEY (lift, start_at)
);
CREATE INDEX inspection_sessions_end ON inspection_sessions (lift, end_at);
