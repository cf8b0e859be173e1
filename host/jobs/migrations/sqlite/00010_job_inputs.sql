-- A run job's real inputs (the request, its body twice) are written once,
-- raw, in a table of their own, beside River's row of the job and keyed by
-- its River id: River rewrites its row at the fetch and at the completion,
-- and SQLite rewrote the whole record, overflow pages of the inputs (in
-- base64) included, each time. The row is never updated; it is deleted
-- with River's row of the job (inputs.go). Jobs queued before this version
-- keep their inputs in River's args.

-- +goose Up
CREATE TABLE hookhost_job_inputs (
    river_id INTEGER PRIMARY KEY,
    inputs   BLOB NOT NULL
);

-- +goose Down
DROP TABLE hookhost_job_inputs;
