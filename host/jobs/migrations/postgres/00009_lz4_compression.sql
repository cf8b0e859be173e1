-- The large values of a job, River's args (the real inputs, base64) and
-- the record's inputs, headers, body, output, log and error, are TOASTed
-- and compressed as they are written, with PostgreSQL's default method,
-- pglz. lz4 compresses them several times faster: a job with a 64 KiB body
-- (BenchmarkWebhook_JobBodyPostgres) took 1.23-1.27 ms in the statement
-- that inserts it with pglz and 0.26-0.29 ms with lz4 (the fastest of 300,
-- alternated), and wrote 4.0 KB of WAL for it instead of 6.4 KB. Values
-- already stored keep their method; only new ones are written with lz4.
--
-- A PostgreSQL built without lz4 (or older than 14, without column
-- compression) refuses SET COMPRESSION: the statements run through EXECUTE
-- in a block that catches that, so such a server migrates and keeps pglz.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE 'ALTER TABLE hookhost_jobs
        ALTER COLUMN inputs SET COMPRESSION lz4,
        ALTER COLUMN headers SET COMPRESSION lz4,
        ALTER COLUMN body SET COMPRESSION lz4,
        ALTER COLUMN output SET COMPRESSION lz4,
        ALTER COLUMN log SET COMPRESSION lz4,
        ALTER COLUMN error SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE river_job ALTER COLUMN args SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error OR invalid_parameter_value THEN
    RAISE NOTICE 'hookhost: lz4 compression is not available (%); job values stay compressed with pglz', SQLERRM;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE 'ALTER TABLE hookhost_jobs
        ALTER COLUMN inputs SET COMPRESSION default,
        ALTER COLUMN headers SET COMPRESSION default,
        ALTER COLUMN body SET COMPRESSION default,
        ALTER COLUMN output SET COMPRESSION default,
        ALTER COLUMN log SET COMPRESSION default,
        ALTER COLUMN error SET COMPRESSION default';
    EXECUTE 'ALTER TABLE river_job ALTER COLUMN args SET COMPRESSION default';
EXCEPTION WHEN feature_not_supported OR syntax_error OR invalid_parameter_value THEN
    NULL;
END
$$;
-- +goose StatementEnd
