-- One row per order with the figures the period reports add up (fill rate,
-- cycle time, cancellations by channel), so they read one narrow row per
-- order placed in the period instead of its lines, allocations and
-- fulfilments. Kept by src/reports/order-facts.ts from the outbox: every
-- `order.*` and `fulfillment.*` event's order is recomputed from its current
-- state, watermarked on the outbox's transaction ids like sales_value_daily.
create table order_facts (
  order_id       bigint primary key,
  channel_id     bigint not null,
  placed_at      timestamptz not null,
  status         text not null,
  units          int not null,
  shipped        int not null,
  cancelled      int not null,
  backordered    int not null,
  -- hours from placement to the last shipment, once shipped in full
  hours_to_ship  float8
);
create index order_facts_placed on order_facts (placed_at);

create table order_facts_rollup (
  id          boolean primary key default true check (id),
  horizon     xid8 not null,
  runs        bigint not null default 0,
  updated_at  timestamptz not null default now()
);
insert into order_facts_rollup (horizon) values ('0'::xid8);
create index outbox_events_orders on outbox_events (txid) where type like 'order.%' or type like 'fulfillment.%';
