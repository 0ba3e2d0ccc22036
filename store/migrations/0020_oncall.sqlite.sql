-- On-call rosters: the people who can be paged and their duty entries
-- (oncall package). Contacts are a JSON list of {channel, to}; days a
-- comma-separated list of mon..sun ('' = every day); windows are minutes
-- after midnight in Asia/Shanghai (to_min 1440 = the end of the day);
-- on_date ('' = weekly) a Shanghai date YYYY-MM-DD, day_off a dated time off.
-- source is 'file' (--oncall.file, replaced at every start), 'web' or
-- 'demo'. The two variants differ only in how ids are generated.
CREATE TABLE oncall_people (
    id         VARCHAR(64)  PRIMARY KEY,
    name       VARCHAR(128) NOT NULL,
    role       VARCHAR(16)  NOT NULL,
    user_name  VARCHAR(128) NOT NULL,
    phone      VARCHAR(32)  NOT NULL,
    lang       VARCHAR(8)   NOT NULL,
    contractor VARCHAR(128) NOT NULL,
    estate     VARCHAR(64)  NOT NULL,
    contacts   TEXT         NOT NULL,
    source     VARCHAR(8)   NOT NULL
);
CREATE TABLE oncall_duty (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person      VARCHAR(64)  NOT NULL,
    contractor  VARCHAR(128) NOT NULL,
    estate      VARCHAR(64)  NOT NULL,
    subdistrict BOOLEAN      NOT NULL,
    days        VARCHAR(64)  NOT NULL,
    from_min    INTEGER      NOT NULL,
    to_min      INTEGER      NOT NULL,
    on_date     VARCHAR(10)  NOT NULL,
    day_off     BOOLEAN      NOT NULL,
    source      VARCHAR(8)   NOT NULL
);
CREATE INDEX oncall_duty_person ON oncall_duty (person);
