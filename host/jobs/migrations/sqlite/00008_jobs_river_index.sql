-- Nothing to do on SQLite: the start River's fetch records there
-- (startSQL in started.go) still finds each record by its River id in
-- hookhost_jobs_river, which version 8 drops on PostgreSQL. The version
-- keeps the two dialects' migrations in step.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
