-- Replenishment reads sales history and demand forecasts kept ahead of time,
-- instead of scanning the ledger and fitting a model for every SKU on every
-- request (src/replenishment/rollup.ts and stored-forecasts.ts).

-- Which transaction wrote each movement, as outbox_events.txid records it for
-- events. A reader that consumes the ledger incrementally goes by transaction
-- and only takes transactions older than every one still running, so a
-- movement whose transaction commits after a later-numbered one is never
-- skipped (a watermark on the movement id alone would skip it). Movements
-- written before this migration have none; they are rolled up below. Adding a
-- nullable column and then its default changes only the catalogue: the ledger
-- is not rewritten.
alter table inventory_movements add column txid xid8;
alter table inventory_movements alter column txid set default pg_current_xact_id();
create index inventory_movements_sales_txid on inventory_movements (txid)
  where reason = 'sale' and bucket = 'on_hand';

-- Units shipped to customers per variant x location x UTC day: the ledger's
-- `sale` movements out of on_hand, summed. Derived data, rebuilt from the
-- ledger at any time, so no foreign keys to slow the catch-up down.
create table sales_daily (
  location_id   bigint not null,
  variant_id    bigint not null,
  day           date not null,
  units         int not null check (units > 0),
  primary key (location_id, variant_id, day)
);

-- The latest day each variant sold at each location: which SKUs have sales
-- history in a window, without reading the history.
create table sales_last_day (
  location_id   bigint not null,
  variant_id    bigint not null,
  last_day      date not null,
  primary key (location_id, variant_id)
);

-- How far sales_daily has got, as one row: every sale movement written by a
-- transaction older than `horizon` is in it, none younger. A run locks the
-- row, adds the movements of transactions in [horizon, oldest still running)
-- and moves the horizon on in the same transaction.
create table sales_rollup (
  id          boolean primary key default true check (id),
  horizon     xid8 not null,
  runs        bigint not null default 0,
  updated_at  timestamptz not null default now()
);

-- Daily demand forecasts per variant x location, made by a background job
-- from the complete days of sales history before `as_of`, with what the model
-- saw and said: the model, the days of history it was fitted on, the daily
-- forecast from `as_of` on and σ of one day's demand around it.
create table demand_forecasts (
  location_id   bigint not null,
  variant_id    bigint not null,
  -- the history window the forecast was asked for (the replenishment setting)
  history_days  int not null check (history_days > 0),
  as_of         date not null,
  model         text not null check (model in ('mstl_ets_weekly', 'mean', 'none')),
  series_days   int not null check (series_days >= 0),
  points        float8[] not null,
  sigma         float8 not null check (sigma >= 0),
  -- sales for days before as_of arrived after it was made: it must be made again
  stale         boolean not null default false,
  computed_at   timestamptz not null default now(),
  primary key (location_id, variant_id)
);

-- Roll up the sales already in the ledger. The alter table above holds the
-- ledger's lock until this migration commits, so every movement without a
-- txid is here now, and every later one belongs to a transaction no older
-- than the oldest running one now.
insert into sales_rollup (horizon) values (pg_snapshot_xmin(pg_current_snapshot()));
insert into sales_daily (location_id, variant_id, day, units)
  select location_id, variant_id, (created_at at time zone 'UTC')::date, (-sum(delta))::int
  from inventory_movements
  where reason = 'sale' and bucket = 'on_hand' and delta < 0 and txid is null
  group by 1, 2, 3;
insert into sales_last_day (location_id, variant_id, last_day)
  select location_id, variant_id, max(day) from sales_daily group by 1, 2;
