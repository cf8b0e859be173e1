-- Retention of job records (Queue.PruneRecords).
--
-- size is what a record counts for in Config.RecordMaxBytes: the bytes of
-- its inputs, headers, body, output, log and error plus 256 (recordOverhead).
-- Finished records (finished_at set) are pruned oldest first from the
-- partial index hookhost_jobs_finished; idempotency keys older than their
-- window from hookhost_job_keys_created.
--
-- The byte columns need no change on SQLite: these tables are not STRICT,
-- and their values are written as BLOBs, which keep any bytes.

-- +goose Up
ALTER TABLE hookhost_jobs ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
UPDATE hookhost_jobs SET size = length(CAST(inputs AS BLOB)) + length(CAST(headers AS BLOB))
    + coalesce(length(CAST(body AS BLOB)), 0) + length(CAST(output AS BLOB)) + length(CAST(log AS BLOB))
    + length(CAST(error AS BLOB)) + 256;
CREATE INDEX hookhost_jobs_finished ON hookhost_jobs (finished_at, id, size) WHERE finished_at IS NOT NULL;
CREATE INDEX hookhost_job_keys_created ON hookhost_job_keys (created_at);

-- +goose Down
DROP INDEX hookhost_job_keys_created;
DROP INDEX hookhost_jobs_finished;
ALTER TABLE hookhost_jobs DROP COLUMN size;
