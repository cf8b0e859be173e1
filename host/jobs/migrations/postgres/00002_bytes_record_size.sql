-- Arbitrary bytes in job records, and their retention.
--
-- PostgreSQL's text type refuses NUL bytes and invalid UTF-8, which a
-- caller's body or query (the inputs), an automation's answer and its error
-- may hold: those columns become bytea, as body already is.
--
-- size is what a record counts for in Config.RecordMaxBytes: the bytes of
-- its inputs, headers, body, output, log and error plus 256 (recordOverhead).
-- Finished records (finished_at set) are pruned oldest first from the
-- partial index hookhost_jobs_finished; idempotency keys older than their
-- window from hookhost_job_keys_created.

-- +goose Up
ALTER TABLE hookhost_jobs
    ALTER COLUMN inputs DROP DEFAULT,
    ALTER COLUMN inputs TYPE bytea USING convert_to(inputs, 'UTF8'),
    ALTER COLUMN inputs SET DEFAULT ''::bytea,
    ALTER COLUMN headers DROP DEFAULT,
    ALTER COLUMN headers TYPE bytea USING convert_to(headers, 'UTF8'),
    ALTER COLUMN headers SET DEFAULT ''::bytea,
    ALTER COLUMN output DROP DEFAULT,
    ALTER COLUMN output TYPE bytea USING convert_to(output, 'UTF8'),
    ALTER COLUMN output SET DEFAULT ''::bytea,
    ALTER COLUMN log DROP DEFAULT,
    ALTER COLUMN log TYPE bytea USING convert_to(log, 'UTF8'),
    ALTER COLUMN log SET DEFAULT ''::bytea,
    ALTER COLUMN error DROP DEFAULT,
    ALTER COLUMN error TYPE bytea USING convert_to(error, 'UTF8'),
    ALTER COLUMN error SET DEFAULT ''::bytea,
    ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
UPDATE hookhost_jobs SET size = octet_length(inputs) + octet_length(headers) + coalesce(octet_length(body), 0)
    + octet_length(output) + octet_length(log) + octet_length(error) + 256;
CREATE INDEX hookhost_jobs_finished ON hookhost_jobs (finished_at, id, size) WHERE finished_at IS NOT NULL;
CREATE INDEX hookhost_job_keys_created ON hookhost_job_keys (created_at);

-- +goose Down
DROP INDEX hookhost_job_keys_created;
DROP INDEX hookhost_jobs_finished;
ALTER TABLE hookhost_jobs
    DROP COLUMN size,
    ALTER COLUMN inputs DROP DEFAULT,
    ALTER COLUMN inputs TYPE text USING convert_from(inputs, 'UTF8'),
    ALTER COLUMN inputs SET DEFAULT '',
    ALTER COLUMN headers DROP DEFAULT,
    ALTER COLUMN headers TYPE text USING convert_from(headers, 'UTF8'),
    ALTER COLUMN headers SET DEFAULT '',
    ALTER COLUMN output DROP DEFAULT,
    ALTER COLUMN output TYPE text USING convert_from(output, 'UTF8'),
    ALTER COLUMN output SET DEFAULT '',
    ALTER COLUMN log DROP DEFAULT,
    ALTER COLUMN log TYPE text USING convert_from(log, 'UTF8'),
    ALTER COLUMN log SET DEFAULT '',
    ALTER COLUMN error DROP DEFAULT,
    ALTER COLUMN error TYPE text USING convert_from(error, 'UTF8'),
    ALTER COLUMN error SET DEFAULT '';
