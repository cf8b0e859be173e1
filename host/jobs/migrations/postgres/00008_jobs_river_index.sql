-- hookhost_jobs_river served one statement: the start that River's fetch
-- records, which found each record by its River id. That start now runs
-- in the fetch's own statement and finds each record by its primary key
-- (the job id in River's args; see pgFetchStartSQL in started.go), so no
-- statement reads the index any more, and each of a job's three writes of
-- its record (the insert, the attempt's start and end: none a HOT update)
-- no longer adds an entry to it.

-- +goose Up
DROP INDEX IF EXISTS hookhost_jobs_river;

-- +goose Down
CREATE INDEX IF NOT EXISTS hookhost_jobs_river ON hookhost_jobs (river_id);
