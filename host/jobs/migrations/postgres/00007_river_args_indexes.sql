-- River's GIN indexes on river_job.args and river_job.metadata, and its
-- btree on river_job.kind, serve River's JobList and JobDeleteMany filters
-- by args, metadata or kind (and River UI's), which hookhost never uses:
-- it reads River jobs by id only, and River's own work (fetch, completion,
-- rescue, cleaning) goes by state. Every job writes three versions of its
-- river_job row (insert, fetch, completion), none of them a HOT update
-- (state is in river_job_prioritized_fetching_index), so each version
-- added an entry to the kind index and every key and value of its args
-- and metadata to the two GIN indexes: about 11 of the 53 WAL records and
-- 2.5 KB of the 13.9 KB of WAL per durable job, and a fifth of
-- PostgreSQL's CPU (go run ./bench -targets jobs-pg with
-- pg_stat_statements and pg_stat_wal).
--
-- Each is replaced by an empty placeholder of the same name (a partial
-- index WHERE false, on id, which no update changes), not just dropped,
-- so that a later River migration that drops or re-creates them by name
-- (DROP INDEX river_job_args_index, CREATE INDEX IF NOT EXISTS ...)
-- still works. Down builds River's indexes again.

-- +goose Up
DROP INDEX IF EXISTS river_job_args_index;
CREATE INDEX river_job_args_index ON river_job (id) WHERE false;
DROP INDEX IF EXISTS river_job_metadata_index;
CREATE INDEX river_job_metadata_index ON river_job (id) WHERE false;
DROP INDEX IF EXISTS river_job_kind;
CREATE INDEX river_job_kind ON river_job (id) WHERE false;

-- +goose Down
DROP INDEX IF EXISTS river_job_args_index;
CREATE INDEX river_job_args_index ON river_job USING GIN(args);
DROP INDEX IF EXISTS river_job_metadata_index;
CREATE INDEX river_job_metadata_index ON river_job USING GIN(metadata);
DROP INDEX IF EXISTS river_job_kind;
CREATE INDEX river_job_kind ON river_job USING btree(kind);
