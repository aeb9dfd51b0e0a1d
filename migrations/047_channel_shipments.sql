-- Shipments back to the channels (issue 11). Shopify's fulfillmentCreate takes
-- a tracking URL beside the carrier and number; Keel derives it from the
-- carrier (channel config `tracking_urls`, else a few well-known carriers).
alter table shopify_shipments add column tracking_url text;

-- WooCommerce: a shipped Keel fulfilment of a WooCommerce order becomes an
-- order note with the carrier, number and URL, and the order's status
-- `completed` once Keel has shipped all of it. Written by the outbox consumer
-- in the dispatcher's transaction, sent by a leased sender.
create table woo_shipments (
  fulfilment_id     bigint primary key,
  channel_id        bigint not null references channels(id) on delete cascade,
  order_id          bigint not null,             -- Keel's order
  remote_order_id   text not null,               -- WooCommerce's order id
  carrier           text,
  tracking_number   text,
  tracking_url      text,
  state             text not null default 'pending' check (state in ('pending', 'sent', 'failed')),
  attempt           integer not null default 0,
  next_attempt_at   timestamptz not null default now(),
  leased_until      timestamptz,
  note_id           text,                        -- the note WooCommerce created
  completed         boolean not null default false, -- the order was set completed with it
  error             text,
  created_at        timestamptz not null default now(),
  sent_at           timestamptz
);
create index woo_shipments_due on woo_shipments (next_attempt_at) where state = 'pending';
