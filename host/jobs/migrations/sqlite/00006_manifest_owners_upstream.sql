-- Manifest ownership of schedules and published subscriptions, and the
-- subscriptions hookhost makes to upstream APIs for its webhooks.
--
-- owner is what manages a schedule or a subscription: '' for the admin
-- API, 'manifest:<file>' for a declarative manifest (store.OwnerManifest).
-- A subscription's name identifies it in manifests ('' when made through
-- the admin API).
--
-- hookhost_upstream_subscriptions holds, per webhook and subscribe/<name>:
-- block of its event KATA, the subscription hookhost made (or is making,
-- or is taking back) at the upstream API: state is pending, active,
-- failed or deleting; location is where DELETE unsubscribes; spec_hash is
-- the SHA-256 of the block, so that a change is seen; request (the
-- rendered request: it holds secrets) and hook_url (the webhook URL it
-- subscribed: it holds the token) are sealed with the server's key; the
-- last answer is an excerpt. A row replaced by a newer one of its block
-- (a rotation, a change of the block), or being taken back, has current 0.

-- +goose Up
ALTER TABLE hookhost_schedules ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE hookhost_subscriptions ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE hookhost_subscriptions ADD COLUMN name TEXT NOT NULL DEFAULT '';

CREATE TABLE hookhost_upstream_subscriptions (
    id          TEXT PRIMARY KEY,
    webhook_id  TEXT NOT NULL,
    block       TEXT NOT NULL,
    current     INTEGER NOT NULL DEFAULT 1,
    state       TEXT NOT NULL,
    spec_hash   TEXT NOT NULL DEFAULT '',
    request     TEXT NOT NULL DEFAULT '',
    hook_url    TEXT NOT NULL DEFAULT '',
    location    TEXT NOT NULL DEFAULT '',
    last_status INTEGER NOT NULL DEFAULT 0,
    last_answer TEXT NOT NULL DEFAULT '',
    last_error  TEXT NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX hookhost_upstream_subscriptions_webhook ON hookhost_upstream_subscriptions (webhook_id, block);

-- +goose Down
DROP TABLE hookhost_upstream_subscriptions;
ALTER TABLE hookhost_subscriptions DROP COLUMN name;
ALTER TABLE hookhost_subscriptions DROP COLUMN owner;
ALTER TABLE hookhost_schedules DROP COLUMN owner;
