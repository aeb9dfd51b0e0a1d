-- Platform tables: API keys, idempotency records, the transactional outbox, settings.

create table api_keys (
  id           bigint generated always as identity primary key,
  name         text not null check (length(name) between 1 and 200),
  prefix       text not null,
  key_hash     bytea not null unique,
  created_at   timestamptz not null default now(),
  revoked_at   timestamptz
);

-- One row per (api key, Idempotency-Key). The row is written in the same
-- transaction as the write it protects, so a crash leaves neither behind and a
-- concurrent duplicate waits on the unique index until the first commits.
create table idempotency_keys (
  api_key_id      bigint not null references api_keys(id),
  key             text not null check (length(key) between 1 and 255),
  method          text not null,
  path            text not null,
  request_hash    bytea not null,
  response_status int not null,
  response_body   jsonb,
  created_at      timestamptz not null default now(),
  primary key (api_key_id, key)
);
create index idempotency_keys_created_at on idempotency_keys (created_at);

-- Every state change writes its event here in the same transaction.
-- Readers go in (txid, id) order and only past transactions older than every
-- running one, so an event that commits late is never skipped.
create table outbox_events (
  id          bigint generated always as identity primary key,
  txid        xid8 not null default pg_current_xact_id(),
  type        text not null,
  payload     jsonb not null,
  created_at  timestamptz not null default now()
);
create index outbox_events_order on outbox_events (txid, id);

create table settings (
  key         text primary key,
  value       jsonb not null,
  updated_at  timestamptz not null default now()
);
