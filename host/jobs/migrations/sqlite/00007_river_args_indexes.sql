-- Nothing to do on SQLite: River's schema there has no GIN indexes on
-- river_job's args and metadata, which version 7 replaces on PostgreSQL.
-- The version keeps the two dialects' migrations in step.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
