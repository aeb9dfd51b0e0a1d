-- Shopify connector, stock out (issue 11). What Keel wants each Shopify
-- inventory level to be, coalesced: one row per channel × SKU × location,
-- holding only the latest wanted value and the last value Shopify confirmed
-- (the changeFromQuantity of the next push). The outbox consumer writes
-- `wanted`; the sender leases dirty rows with FOR UPDATE SKIP LOCKED.

-- SKU → inventory item, per channel, filled by the product import.
create table shopify_inventory_items (
  channel_id          bigint not null references channels(id) on delete cascade,
  sku                 text not null check (length(sku) between 1 and 255),
  inventory_item_gid  text not null check (inventory_item_gid like 'gid://shopify/InventoryItem/%'),
  variant_gid         text not null,
  product_gid         text,
  imported_at         timestamptz not null default now(),
  primary key (channel_id, sku)
);

create table shopify_stock_targets (
  channel_id          bigint not null references channels(id) on delete cascade,
  sku                 text not null,
  location_code       text not null,
  location_gid        text not null,
  inventory_item_gid  text not null,
  wanted              integer not null check (wanted >= 0),
  -- what Shopify last confirmed (a push that went through, or a read); null: unknown, read before pushing
  confirmed           integer,
  -- bumped on every confirmation: part of the @idempotent key, so a key is only ever reused by a true retry
  confirmed_version   integer not null default 0,
  state               text not null default 'dirty' check (state in ('dirty', 'clean', 'failed')),
  dirty_since         timestamptz default now(),
  attempt             integer not null default 0,
  next_attempt_at     timestamptz not null default now(),
  leased_until        timestamptz,
  pushed_at           timestamptz,
  error               text,
  updated_at          timestamptz not null default now(),
  primary key (channel_id, sku, location_code),
  check ((state = 'dirty') = (dirty_since is not null))
);
create index shopify_stock_targets_due on shopify_stock_targets (channel_id, dirty_since) where state = 'dirty';

-- Per channel: when a push last went through, and the back-off while Shopify cannot be reached.
create table shopify_channel_state (
  channel_id            bigint primary key references channels(id) on delete cascade,
  last_success_at       timestamptz,
  consecutive_failures  integer not null default 0,
  next_attempt_at       timestamptz not null default now()
);

-- POST /v1/channels/{code}/sync: products import and full inventory pushes, run by a leased worker.
create table shopify_sync_jobs (
  id           bigint generated always as identity primary key,
  channel_id   bigint not null references channels(id) on delete cascade,
  what         text not null check (what in ('products', 'inventory')),
  "full"       boolean not null default false,
  status       text not null default 'queued' check (status in ('queued', 'running', 'done', 'failed')),
  progress     jsonb not null default '{}',
  error        text,
  leased_until timestamptz,
  created_at   timestamptz not null default now(),
  started_at   timestamptz,
  finished_at  timestamptz
);
create index shopify_sync_jobs_open on shopify_sync_jobs (status, id) where status in ('queued', 'running');
