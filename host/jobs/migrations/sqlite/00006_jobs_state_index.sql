-- The jobs page's filter by state at scale: hookhost_jobs_state serves
-- ?state= newest first, and the metrics' count by state reads it instead
-- of the records.

-- +goose Up
CREATE INDEX hookhost_jobs_state ON hookhost_jobs (state, created_at, id);

-- +goose Down
DROP INDEX hookhost_jobs_state;
