-- Shopify connector, shipments back (issue 11): a shipped Keel fulfilment of
-- an order that came from a Shopify channel becomes fulfillmentCreate on the
-- order's fulfillment orders. One row per fulfilment, written by the outbox
-- consumer in the dispatcher's transaction, sent by a leased sender.
create table shopify_shipments (
  fulfilment_id     bigint primary key,
  channel_id        bigint not null references channels(id) on delete cascade,
  order_gid         text not null,
  carrier           text,
  tracking_number   text,
  lines             jsonb not null,              -- [{sku, quantity}]
  state             text not null default 'pending' check (state in ('pending', 'sent', 'failed')),
  attempt           integer not null default 0,
  next_attempt_at   timestamptz not null default now(),
  leased_until      timestamptz,
  fulfillment_gid   text,                        -- what Shopify created
  error             text,
  created_at        timestamptz not null default now(),
  sent_at           timestamptz
);
create index shopify_shipments_due on shopify_shipments (next_attempt_at) where state = 'pending';
