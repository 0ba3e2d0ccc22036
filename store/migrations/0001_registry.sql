-- The register of lifts. rated_speed was REAL until PostgreSQL came in (4 bytes
-- there, so 1.6 came back as 1.600000023841858); SQLite gives both names the
-- same 8-byte REAL storage, so databases created before are unaffected.
CREATE TABLE lifts (
    id               VARCHAR(64)  PRIMARY KEY,
    reg_code         VARCHAR(32)  NOT NULL,
    estate           VARCHAR(64)  NOT NULL,
    estate_name      VARCHAR(128) NOT NULL,
    building         VARCHAR(64)  NOT NULL,
    unit             VARCHAR(64)  NOT NULL,
    address          VARCHAR(256) NOT NULL,
    landings         INTEGER      NOT NULL,
    half_landings    VARCHAR(256) NOT NULL,
    rated_speed      DOUBLE PRECISION NOT NULL,
    install_date     VARCHAR(10)  NOT NULL,
    property_manager VARCHAR(128) NOT NULL,
    contractor       VARCHAR(128) NOT NULL
);
CREATE INDEX lifts_estate ON lifts (estate);
