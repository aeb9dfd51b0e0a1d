-- ABC classes kept ahead by a background job (src/counts/abc-rollup.ts), so
-- the report reads one location's ranked list instead of summing months of
-- ledger sales for every SKU on every request.

-- One classification of a location's SKUs by consumption value over the
-- `days` before `computed_at`, as abcClasses computed it at that moment (the
-- same statement, in the job's transaction: now() is computed_at).
-- `requested_at`: when a request last had to compute it itself; a window
-- other than the report's default is kept up to date for a day after that.
create table abc_rollups (
  location_id   bigint not null references locations(id) on delete cascade,
  days          int not null check (days > 0),
  computed_at   timestamptz not null,
  requested_at  timestamptz,
  primary key (location_id, days)
);

-- Its rows in report order (value, highest first, then SKU): rank 1 is the
-- most valuable. Derived data, replaced whole on every refresh.
create table abc_rollup_rows (
  location_id   bigint not null,
  days          int not null,
  rank          int not null,
  variant_id    bigint not null,
  sku           text not null,
  units_sold    int not null,
  value         bigint not null,
  class         char(1) not null check (class in ('A', 'B', 'C')),
  primary key (location_id, days, rank),
  foreign key (location_id, days) references abc_rollups on delete cascade
);
