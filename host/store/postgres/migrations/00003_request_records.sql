-- Request records: every request to a known webhook is a row of runs,
-- refused ones included (cause says why), job hand-offs too (job_id), and
-- replays (replay_of). request_id is the request's X-Request-Id.

-- +goose Up
ALTER TABLE runs
    ADD COLUMN request_id text NOT NULL DEFAULT '',
    ADD COLUMN cause text NOT NULL DEFAULT '',
    ADD COLUMN job_id text NOT NULL DEFAULT '',
    ADD COLUMN replay_of text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE runs
    DROP COLUMN replay_of,
    DROP COLUMN job_id,
    DROP COLUMN cause,
    DROP COLUMN request_id;
