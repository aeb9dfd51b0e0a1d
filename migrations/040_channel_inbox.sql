-- Inbound channel webhooks (Shopify, WooCommerce): every verified delivery is
-- kept in channel_inbox in one insert and answered at once; a processor applies
-- it later, in one transaction with marking it done. Duplicates are refused by
-- the unique indexes, so a delivery sent three times at once is stored once.
create table channel_inbox (
  id            bigint generated always as identity primary key,
  channel_id    bigint not null references channels(id),
  platform      text not null check (platform in ('shopify', 'woocommerce')),
  topic         text not null,                  -- orders/create, refunds/create, order.updated …
  -- Shopify: 'webhook:' || X-Shopify-Webhook-Id; WooCommerce: '<resource>:<id>:<date_modified>'
  dedupe_key    text not null,
  -- Shopify: topic || ':' || X-Shopify-Event-Id (one event, several subscriptions)
  event_key     text,
  triggered_at  timestamptz,                    -- X-Shopify-Triggered-At, or the resource's date_modified
  headers       jsonb not null default '{}',
  body          text not null,                  -- the raw body as signed
  status        text not null default 'pending'
                  check (status in ('pending', 'done', 'stale', 'ignored', 'failed')),
  attempts      int not null default 0,
  leased_until  timestamptz,
  outcome       jsonb,                          -- what applying it did (order id, refund id …)
  error         text,
  received_at   timestamptz not null default now(),
  processed_at  timestamptz
);
create unique index channel_inbox_dedupe on channel_inbox (channel_id, dedupe_key);
create unique index channel_inbox_event on channel_inbox (channel_id, event_key) where event_key is not null;
create index channel_inbox_pending on channel_inbox (id) where status = 'pending';

-- A channel's order as Keel knows it: which Keel order it became, and the
-- newest delivery applied to it (an older one changes nothing).
create table channel_orders (
  channel_id          bigint not null references channels(id),
  external_id         text not null,            -- Shopify: the order GID; WooCommerce: the order id
  remote_id           text,                     -- Shopify's numeric id, as text (refunds name the order by it)
  order_id            bigint references orders(id),
  last_triggered_at   timestamptz,
  unknown_skus        text[] not null default '{}',
  updated_at          timestamptz not null default now(),
  primary key (channel_id, external_id)
);
create index channel_orders_remote on channel_orders (channel_id, remote_id) where remote_id is not null;
create index channel_orders_order on channel_orders (order_id);

-- Refunds and fulfilments the channel reported, once each.
create table channel_refunds (
  channel_id    bigint not null references channels(id),
  external_id   text not null,                  -- the refund GID
  order_id      bigint not null references orders(id),
  amount        bigint not null check (amount >= 0),
  lines         jsonb not null default '[]',
  note          text,
  created_at    timestamptz not null default now(),
  primary key (channel_id, external_id)
);

create table channel_fulfillments (
  channel_id       bigint not null references channels(id),
  external_id      text not null,               -- the fulfilment GID
  order_id         bigint not null references orders(id),
  status           text,
  carrier          text,
  tracking_number  text,
  tracking_url     text,
  lines            jsonb not null default '[]',
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  primary key (channel_id, external_id)
);

-- Levels the shop reported (inventory_levels/update): the newest per item and
-- location; `pending` until the stock-push side has looked at it.
create table channel_inventory_levels (
  channel_id         bigint not null references channels(id),
  inventory_item_id  text not null,             -- remote ids, as text
  location_id        text not null,
  available          int,
  remote_updated_at  timestamptz,
  pending            boolean not null default true,
  received_at        timestamptz not null default now(),
  primary key (channel_id, inventory_item_id, location_id)
);
create index channel_inventory_levels_pending on channel_inventory_levels (channel_id) where pending;
