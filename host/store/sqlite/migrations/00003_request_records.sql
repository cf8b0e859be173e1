-- Request records: every request to a known webhook is a row of runs,
-- refused ones included (cause says why), job hand-offs too (job_id), and
-- replays (replay_of). request_id is the request's X-Request-Id.

-- +goose Up
ALTER TABLE runs ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN cause TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN job_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN replay_of TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE runs DROP COLUMN replay_of;
ALTER TABLE runs DROP COLUMN job_id;
ALTER TABLE runs DROP COLUMN cause;
ALTER TABLE runs DROP COLUMN request_id;
