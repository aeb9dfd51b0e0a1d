-- Read models for the reports (src/reports). Derived data: rebuilt from the
-- orders and fulfilments at any time, so no foreign keys.

-- Shipped line units, revenue and cost of goods per sold variant x channel x
-- currency x UTC day of shipment, kept from the outbox's `fulfillment.shipped`
-- events (src/reports/sales-rollup.ts). Bundles count under the bundle's
-- variant; their cost is the components' cost. Cost is the moving-average
-- cost of the units when the rollup took the shipment in (a few seconds
-- after it), null-cost variants count 0 and are counted in `uncosted_units`.
create table sales_value_daily (
  variant_id      bigint not null,
  channel_id      bigint not null,
  currency        char(3) not null,
  day             date not null,
  units           int not null,
  revenue         bigint not null,
  cost            bigint not null,
  uncosted_units  int not null default 0,
  primary key (day, variant_id, channel_id, currency)
);
create index sales_value_daily_variant on sales_value_daily (variant_id, day);

-- How far sales_value_daily has got, on the outbox: every event written by a
-- transaction older than `horizon` is in it, none younger (the same scheme as
-- sales_rollup in 009).
create table sales_value_rollup (
  id          boolean primary key default true check (id),
  horizon     xid8 not null,
  runs        bigint not null default 0,
  updated_at  timestamptz not null default now()
);

-- The outbox is never purged, so the rollup starts at its beginning: the
-- first run of the job takes in every shipment so far.
insert into sales_value_rollup (horizon) values ('0'::xid8);
create index outbox_events_shipped on outbox_events (txid) where type = 'fulfillment.shipped';

-- Reports read by period: returns and purchase-order receipts by creation time.
create index returns_created on returns (created_at);
create index receipts_created on receipts (created_at);
create index orders_open_placed on orders (placed_at)
  where status in ('received', 'on_hold', 'approved', 'backordered', 'preparing', 'partially_shipped');
