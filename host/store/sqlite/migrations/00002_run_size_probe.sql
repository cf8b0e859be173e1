-- Run history retention and write-health probes.
--
-- runs.size is store.RunSize of the record (its variable fields' bytes plus
-- 128), summed by PruneRuns from the index runs_created_at_size rather than
-- from the records (whose blobs would be read through their overflow
-- pages). store_probe takes ProbeWrite's row, written and deleted in one
-- transaction.
--
-- SQLite's TEXT keeps any bytes (NUL, invalid UTF-8) as they are: the text
-- columns need no change here (see the PostgreSQL migration).

-- +goose Up
ALTER TABLE runs ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET size = length(CAST(id AS BLOB)) + length(CAST(webhook_id AS BLOB))
    + length(CAST(automation AS BLOB)) + length(CAST(exit AS BLOB)) + length(CAST(error AS BLOB))
    + coalesce(length(inputs), 0) + coalesce(length(output), 0) + coalesce(length(log), 0) + 128;
DROP INDEX runs_created_at;
CREATE INDEX runs_created_at_size ON runs (created_at, id, size);

CREATE TABLE store_probe (
    id  INTEGER PRIMARY KEY,
    pad BLOB NOT NULL
) STRICT;

-- +goose Down
DROP TABLE store_probe;
DROP INDEX runs_created_at_size;
CREATE INDEX runs_created_at ON runs (created_at, id);
ALTER TABLE runs DROP COLUMN size;
