-- ERP/WMS stock feed: the last absolute on-hand applied per variant × location,
-- so an older report (as_of before the last one) is recognised as stale and
-- changes nothing, and a retry of the same report is recognised as unchanged.
-- Feeds lock these rows in (variant_id, location_id) order, the same order in
-- which inventory_levels rows are locked everywhere else.
create table stock_feed_state (
  variant_id    bigint not null references variants(id),
  location_id   bigint not null references locations(id),
  source        text not null,
  last_as_of    timestamptz not null,
  last_on_hand  integer not null,     -- the on_hand the feed reported at last_as_of
  updated_at    timestamptz not null default now(),
  primary key (variant_id, location_id)
);
