-- Nothing to do on SQLite: version 9 chooses PostgreSQL's TOAST
-- compression method. The version keeps the two dialects' migrations in
-- step.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
