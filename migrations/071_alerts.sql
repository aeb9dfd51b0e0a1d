-- Alerts (src/alerts): opened when a condition starts and resolved by the
-- evaluator when it ends. `key` names the condition within its kind (a SKU
-- at a location, an order, a purchase order, an integration); the partial
-- unique index allows one open alert per condition, so a condition that
-- lasts is one alert however often it is seen.
create table alerts (
  id               bigint generated always as identity primary key,
  kind             text not null check (kind in ('low_stock', 'out_of_stock', 'order_overdue', 'integration_failing',
                     'receipt_late', 'anomaly', 'ledger_drift')),
  key              text not null check (length(key) between 1 and 300),
  status           text not null default 'open' check (status in ('open', 'resolved')),
  -- what was seen: the level, the order, the PO, the series; updated while open
  evidence         jsonb not null default '{}',
  opened_at        timestamptz not null default now(),
  -- when the evidence last changed (a lasting condition is not rewritten on every run)
  changed_at       timestamptz not null default now(),
  resolved_at      timestamptz,
  acknowledged_at  timestamptz,
  acknowledged_by  text,
  check ((status = 'resolved') = (resolved_at is not null))
);
create unique index alerts_one_open on alerts (kind, key) where status = 'open';
create index alerts_list on alerts (status, kind, id desc);

-- One row the evaluator locks for the length of a run, so runs in several
-- processes take turns instead of opening and resolving over each other.
create table alert_evaluations (
  id          boolean primary key default true check (id),
  runs        bigint not null default 0,
  updated_at  timestamptz not null default now()
);
insert into alert_evaluations default values;
