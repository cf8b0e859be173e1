-- Schedules (host/schedule) and subscriptions (subscriptions.go).
--
-- hookhost_schedules is read and written by host/schedule; it is migrated
-- with the job queue's tables because every scheduled run is a job, so the
-- table exists wherever the queue does. next_run_at is the tick the
-- schedule waits for (unix microseconds, NULL while paused): the server
-- that runs a tick moves it on with a compare-and-set, so that one tick
-- queues one job whichever servers see it.
--
-- hookhost_subscriptions are the receivers of published events
-- (job.completed, webhook.request.rejected, …), each with its signing
-- secret; hookhost_deliveries is the delivery log of each subscription,
-- one row per event sent (or being sent) to it.

-- +goose Up
CREATE TABLE hookhost_schedules (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    cron        TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    automation  TEXT NOT NULL,
    inputs      TEXT NOT NULL DEFAULT '',
    options     TEXT NOT NULL DEFAULT '',
    missed      TEXT NOT NULL,
    enabled     INTEGER NOT NULL,
    next_run_at INTEGER,
    last_run_at INTEGER,
    last_job_id TEXT NOT NULL DEFAULT '',
    skipped     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX hookhost_schedules_due ON hookhost_schedules (next_run_at) WHERE next_run_at IS NOT NULL;
-- A schedule's jobs: no webhook, handler "schedule/<name>".
CREATE INDEX hookhost_jobs_schedule ON hookhost_jobs (handler, created_at, id) WHERE webhook_id = '';

CREATE TABLE hookhost_subscriptions (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    webhook_id  TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    secret      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE hookhost_deliveries (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    river_id        INTEGER NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    status          INTEGER NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX hookhost_deliveries_subscription ON hookhost_deliveries (subscription_id, created_at, id);
CREATE INDEX hookhost_deliveries_updated ON hookhost_deliveries (updated_at);

-- +goose Down
DROP INDEX hookhost_jobs_schedule;
DROP TABLE hookhost_deliveries;
DROP TABLE hookhost_subscriptions;
DROP TABLE hookhost_schedules;
