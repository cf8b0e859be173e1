-- Cheaper run records: the request inspector's cause and status-class
-- indexes (00005) hold only the records their filters look for.
--
-- Every request writes a record, and every index of runs is a b-tree insert
-- on that path. Most records have no refusal cause and a 2xx status: they
-- need no entry in runs_cause_created_at (?cause= names a cause; ?cause=-
-- keeps the common records, which runs_created_at_size finds newest first)
-- nor in runs_status_class_created_at (?status=2xx keeps the common
-- records; the rare classes are the ones an index must find). So both
-- become partial indexes, and a record that succeeded writes neither.
--
-- The store's queries repeat each index's condition literally (cause <> ''
-- with a cause, status / 100 <> 2 with a class other than 2xx): the
-- planners use a partial index only when the query's WHERE implies its
-- condition, which neither proves through a parameter.

-- +goose Up
DROP INDEX runs_cause_created_at;
CREATE INDEX runs_cause_created_at ON runs (cause, created_at, id) WHERE cause <> '';
DROP INDEX runs_status_class_created_at;
CREATE INDEX runs_status_class_created_at ON runs ((status / 100), created_at, id) WHERE status / 100 <> 2;

-- +goose Down
DROP INDEX runs_status_class_created_at;
CREATE INDEX runs_status_class_created_at ON runs ((status / 100), created_at, id);
DROP INDEX runs_cause_created_at;
CREATE INDEX runs_cause_created_at ON runs (cause, created_at, id);
