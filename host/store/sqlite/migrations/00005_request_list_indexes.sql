-- Indexes for the request inspector's filters at scale (a million records).
--
-- runs_cause_created_at serves ?cause= (a refused request's cause) newest
-- first; runs_status_class_created_at serves ?status=4xx as the
-- expression status / 100 (the store's query uses the same expression):
-- without them a rare cause or class read the whole table through
-- runs_created_at. runs_webhook_id_created_at_status replaces
-- runs_webhook_id_created_at with status added, so that the webhooks
-- worklist's 24-hour counts, error rates and last answer (per page of
-- webhooks) read the index only, not the records.

-- +goose Up
CREATE INDEX runs_cause_created_at ON runs (cause, created_at, id);
CREATE INDEX runs_status_class_created_at ON runs ((status / 100), created_at, id);
CREATE INDEX runs_webhook_id_created_at_status ON runs (webhook_id, created_at, id, status);
DROP INDEX runs_webhook_id_created_at;

-- +goose Down
CREATE INDEX runs_webhook_id_created_at ON runs (webhook_id, created_at, id);
DROP INDEX runs_webhook_id_created_at_status;
DROP INDEX runs_status_class_created_at;
DROP INDEX runs_cause_created_at;
