-- +goose Up
CREATE TABLE hookhost_jobs (
    id           TEXT PRIMARY KEY,
    river_id     BIGINT NOT NULL,
    webhook_id   TEXT NOT NULL,
    handler      TEXT NOT NULL,
    automation   TEXT NOT NULL,
    revision     BIGINT NOT NULL DEFAULT 0,
    state        TEXT NOT NULL,
    attempt      BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    inputs       TEXT NOT NULL DEFAULT '',
    status       BIGINT NOT NULL DEFAULT 0,
    headers      TEXT NOT NULL DEFAULT '',
    body         BYTEA,
    output       TEXT NOT NULL DEFAULT '',
    log          TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    retry_of     TEXT NOT NULL DEFAULT '',
    callback_url TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,
    finished_at  BIGINT
);
CREATE INDEX hookhost_jobs_created ON hookhost_jobs (created_at, id);
CREATE INDEX hookhost_jobs_webhook ON hookhost_jobs (webhook_id, created_at, id);
CREATE INDEX hookhost_jobs_river ON hookhost_jobs (river_id);

CREATE TABLE hookhost_job_keys (
    webhook_id TEXT NOT NULL,
    key        TEXT NOT NULL,
    job_id     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (webhook_id, key)
);

CREATE TABLE hookhost_job_slots (
    slot_key    TEXT NOT NULL,
    slot        BIGINT NOT NULL,
    river_id    BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL,
    PRIMARY KEY (slot_key, slot)
);
CREATE INDEX hookhost_job_slots_river ON hookhost_job_slots (river_id);

CREATE TABLE hookhost_signing_secrets (
    webhook_id TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE hookhost_signing_secrets;
DROP TABLE hookhost_job_slots;
DROP TABLE hookhost_job_keys;
DROP TABLE hookhost_jobs;
