-- A run job's real inputs (the request, its body twice) are written once,
-- raw, in a table of their own, beside River's row of the job and keyed by
-- its River id: River rewrites its row at the fetch and at the completion,
-- and had its args (the inputs in base64, parsed as jsonb) written, read
-- back and decoded at every fetch. The row is never updated; it is deleted
-- with River's row of the job (the queue's wrapper of River's cleaner, and
-- the prune pass: inputs.go). Jobs queued before this version keep their
-- inputs in River's args.

-- +goose Up
CREATE TABLE hookhost_job_inputs (
    river_id BIGINT PRIMARY KEY,
    inputs   BYTEA NOT NULL
);
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE 'ALTER TABLE hookhost_job_inputs ALTER COLUMN inputs SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error OR invalid_parameter_value THEN
    RAISE NOTICE 'hookhost: lz4 compression is not available (%); job inputs are compressed with pglz', SQLERRM;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE hookhost_job_inputs;
