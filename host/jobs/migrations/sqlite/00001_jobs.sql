-- +goose Up
CREATE TABLE hookhost_jobs (
    id           TEXT PRIMARY KEY,
    river_id     INTEGER NOT NULL,
    webhook_id   TEXT NOT NULL,
    handler      TEXT NOT NULL,
    automation   TEXT NOT NULL,
    revision     INTEGER NOT NULL DEFAULT 0,
    state        TEXT NOT NULL,
    attempt      INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    inputs       TEXT NOT NULL DEFAULT '',
    status       INTEGER NOT NULL DEFAULT 0,
    headers      TEXT NOT NULL DEFAULT '',
    body         BLOB,
    output       TEXT NOT NULL DEFAULT '',
    log          TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    retry_of     TEXT NOT NULL DEFAULT '',
    callback_url TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER
);
CREATE INDEX hookhost_jobs_created ON hookhost_jobs (created_at, id);
CREATE INDEX hookhost_jobs_webhook ON hookhost_jobs (webhook_id, created_at, id);
CREATE INDEX hookhost_jobs_river ON hookhost_jobs (river_id);

CREATE TABLE hookhost_job_keys (
    webhook_id TEXT NOT NULL,
    key        TEXT NOT NULL,
    job_id     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (webhook_id, key)
);

CREATE TABLE hookhost_job_slots (
    slot_key    TEXT NOT NULL,
    slot        INTEGER NOT NULL,
    river_id    INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL,
    PRIMARY KEY (slot_key, slot)
);
CREATE INDEX hookhost_job_slots_river ON hookhost_job_slots (river_id);

CREATE TABLE hookhost_signing_secrets (
    webhook_id TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE hookhost_signing_secrets;
DROP TABLE hookhost_job_slots;
DROP TABLE hookhost_job_keys;
DROP TABLE hookhost_jobs;
