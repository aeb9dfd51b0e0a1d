-- 012 kept each classification's rows by rank, so a refresh rewrote every
-- row of the location (24,000 at the 25,000-SKU scale, every 5 minutes, per
-- location: millions of dead rows and gigabytes of WAL a day) although one
-- sale moves one SKU. Rows are kept per variant instead and put in report
-- order when read (value, highest first, then SKU, as abcClasses sorts), so a
-- refresh writes only the SKUs whose figures or class changed.
-- Derived data: every classification is made again by the next job run.
drop table abc_rollup_rows;
create table abc_rollup_rows (
  location_id   bigint not null,
  days          int not null,
  variant_id    bigint not null,
  sku           text not null,
  units_sold    int not null,
  value         bigint not null,
  class         char(1) not null check (class in ('A', 'B', 'C')),
  primary key (location_id, days, variant_id),
  foreign key (location_id, days) references abc_rollups on delete cascade
);
create index abc_rollup_rows_report on abc_rollup_rows (location_id, days, value desc, sku);
update abc_rollups set computed_at = '-infinity';
