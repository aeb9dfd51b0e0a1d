-- Integration failures: everything that crossed (or failed to cross) the
-- shop's boundary and needs a person or a retry. One open row per
-- (source, operation, subject); a repeat bumps attempts and last_at, a later
-- success resolves it. Written by webhooks, the stock feed, CSV imports and
-- every channel connector; read by the monitor (GET /v1/integrations/failures)
-- and by channel health.
create table integration_failures (
  id           bigserial primary key,
  source       text not null,                 -- webhook | stock-feed | csv | nats | shopify | woocommerce | …
  channel_code text,                          -- the channel it concerns, when one
  operation    text not null,                 -- deliver | push_inventory | ingest_order | confirm_shipment | import …
  subject      text not null default '',      -- what it is about: a delivery id, an order's external id, sku@location
  error        text not null,
  detail       jsonb not null default '{}',   -- what a retry needs (and what a person wants to see)
  attempts     integer not null default 1,
  status       text not null default 'open' check (status in ('open', 'resolved')),
  first_at     timestamptz not null default now(),
  last_at      timestamptz not null default now(),
  resolved_at  timestamptz,
  resolution   text                           -- succeeded | retried | dismissed …
);
create unique index integration_failures_one_open
  on integration_failures (source, operation, subject) where status = 'open';
create index integration_failures_by_channel on integration_failures (channel_code, status, last_at desc);
create index integration_failures_recent on integration_failures (status, last_at desc);
