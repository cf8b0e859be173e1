-- +goose Up
-- Callback and subscription signing secrets ("whsec_…") are sealed with
-- the server's secret key, as stored secrets are (host/secrets Box). The
-- sealed column marks a row whose secret column holds the sealed value
-- (base64); rows written before this version, and any row written
-- without the key, keep sealed = 0 and their secret in clear until the
-- queue's next start seals them (Queue.sealSigningSecrets).
ALTER TABLE hookhost_signing_secrets ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hookhost_subscriptions ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;

-- +goose Down
-- A sealed secret cannot be unsealed in SQL: after going down, rotate
-- every signing secret (and re-create subscriptions).
ALTER TABLE hookhost_subscriptions DROP COLUMN sealed;
ALTER TABLE hookhost_signing_secrets DROP COLUMN sealed;
