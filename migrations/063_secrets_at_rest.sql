-- Secrets at rest are encrypted (src/secrets/box.ts: AES-256-GCM, values
-- `enc:v1:<key id>:…`). The key lives outside the database (KEEL_SECRET or
-- the data directory's key file), so this migration cannot encrypt: it makes
-- the database refuse any new plaintext webhook signing secret (NOT VALID: rows from
-- before are not checked yet), and `keel start` encrypts the rows from
-- before (src/secrets/rewrite.ts) and then validates these constraints.
-- Alert targets' signing secrets (notification_targets, a later migration),
-- channel credentials (channels.config access_token, consumer_secret,
-- webhook_secret) and TOTP seeds (users.totp_secret, bytea) are encrypted and
-- rewritten the same way, without a constraint.
alter table webhook_subscriptions
  add constraint webhook_subscriptions_secret_sealed check (secret like 'enc:v1:%') not valid;
