-- Optional TOTP second factor (meant for admins). A secret is pending until a
-- first code confirms it; the last used time step stops a code working twice.
alter table users
  add column totp_secret bytea,
  add column totp_pending_secret bytea,
  add column totp_enabled_at timestamptz,
  add column totp_last_step bigint;
