-- hookhost schema for SQLite. Times are INTEGER unix microseconds (UTC);
-- booleans are INTEGER 0/1; byte values are BLOB (NULL is "none").

-- +goose Up
CREATE TABLE automations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL UNIQUE,
    extension_id TEXT    NOT NULL DEFAULT '',
    description  TEXT    NOT NULL DEFAULT '',
    script       TEXT    NOT NULL DEFAULT '',
    policy_kata  TEXT    NOT NULL DEFAULT '',
    revision     INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE webhooks (
    id                    TEXT    NOT NULL PRIMARY KEY,
    name                  TEXT    NOT NULL DEFAULT '',
    token_hash            BLOB    NOT NULL UNIQUE,
    prev_token_hash       BLOB,
    prev_token_expires_at INTEGER,
    event_kata            TEXT    NOT NULL DEFAULT '',
    enabled               INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    debug                 INTEGER NOT NULL DEFAULT 0 CHECK (debug IN (0, 1)),
    expires_at            INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;

CREATE INDEX webhooks_prev_token_hash ON webhooks (prev_token_hash) WHERE prev_token_hash IS NOT NULL;
CREATE INDEX webhooks_created_at ON webhooks (created_at, id);

CREATE TABLE runs (
    id          TEXT    NOT NULL PRIMARY KEY,
    webhook_id  TEXT    NOT NULL,
    automation  TEXT    NOT NULL DEFAULT '',
    revision    INTEGER NOT NULL DEFAULT 0,
    status      INTEGER NOT NULL DEFAULT 0,
    exit        TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT '',
    duration_us INTEGER NOT NULL DEFAULT 0,
    inputs      BLOB,
    output      BLOB,
    log         BLOB,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX runs_webhook_id_created_at ON runs (webhook_id, created_at, id);
CREATE INDEX runs_created_at ON runs (created_at, id);

CREATE TABLE package_imports (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL DEFAULT '',
    revision   INTEGER NOT NULL DEFAULT 0,
    result     BLOB,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX package_imports_created_at ON package_imports (created_at, id);

CREATE TABLE kv (
    ns         TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      BLOB    NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (ns, key)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE kv;
DROP TABLE package_imports;
DROP TABLE runs;
DROP TABLE webhooks;
DROP TABLE automations;
