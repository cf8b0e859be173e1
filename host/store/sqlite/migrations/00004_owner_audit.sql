-- Owners, webhook revisions and the audit log.
--
-- owner marks a record that something other than the admin API manages:
-- "manifest:<file>" for a declarative manifest (host/manifest); "" for
-- the admin API and packages. kv.owner is the owner of a secret (the kv
-- rows of the "secrets" namespace); other kv rows leave it empty.
-- webhooks.revision grows by one on every change, as automations' does.
-- webhooks.token_secret names the secret whose value is the webhook's
-- token when a manifest pins it ("" for a generated token).
--
-- audit has one row per change written through Store.ApplyChanges: who
-- (a short hash of the admin token, "manifest:<file>", "system"), what
-- (kind, name, record id, action), when, and the revisions before and
-- after. It never holds a secret value or a webhook token.

-- +goose Up
ALTER TABLE automations ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
ALTER TABLE webhooks ADD COLUMN token_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE kv ADD COLUMN owner TEXT NOT NULL DEFAULT '';

CREATE TABLE audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    actor        TEXT    NOT NULL DEFAULT '',
    kind         TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '',
    record_id    TEXT    NOT NULL DEFAULT '',
    action       TEXT    NOT NULL,
    old_revision INTEGER NOT NULL DEFAULT 0,
    new_revision INTEGER NOT NULL DEFAULT 0,
    detail       TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX audit_kind_name ON audit (kind, name, id);
CREATE INDEX audit_record_id ON audit (record_id, id);
CREATE INDEX audit_at ON audit (at, id);
CREATE INDEX package_imports_name ON package_imports (name, created_at, id);

-- +goose Down
DROP INDEX package_imports_name;
DROP TABLE audit;
ALTER TABLE kv DROP COLUMN owner;
ALTER TABLE webhooks DROP COLUMN token_secret;
ALTER TABLE webhooks DROP COLUMN revision;
ALTER TABLE webhooks DROP COLUMN owner;
ALTER TABLE automations DROP COLUMN owner;
