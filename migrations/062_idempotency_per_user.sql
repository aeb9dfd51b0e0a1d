-- Idempotency records are scoped by principal: an API key, or a signed-in
-- user (the admin app sends an Idempotency-Key with every write). Exactly one
-- of the two is set; each has its own unique index, which the insert's
-- ON CONFLICT DO NOTHING waits on as it did on the primary key.
alter table idempotency_keys drop constraint idempotency_keys_pkey;
alter table idempotency_keys add column user_id bigint references users(id);
alter table idempotency_keys alter column api_key_id drop not null;
create unique index idempotency_keys_by_api_key on idempotency_keys (api_key_id, key) where api_key_id is not null;
create unique index idempotency_keys_by_user on idempotency_keys (user_id, key) where user_id is not null;
alter table idempotency_keys add constraint idempotency_keys_one_principal
  check ((api_key_id is null) <> (user_id is null));
