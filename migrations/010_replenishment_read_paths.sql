-- Read paths for 009's rollups, found by measuring at 1,000,000 orders.

-- Each stored forecast summed over its first n days, for every n: a
-- suggestion reads totals[lead time] instead of adding up the lead time's
-- daily points for each of a location's SKUs on every request. Element n is
-- ((points[1] + points[2]) + ...) + points[n], added in that order, as the
-- request would add them. Forecasts already stored get theirs here (a running
-- float8 sum adds in the same order); any stored without one is made again.
alter table demand_forecasts add column totals float8[];
update demand_forecasts f set totals = (
  select array_agg(t order by i) from (
    select i, sum(p) over (order by i rows between unbounded preceding and current row) as t
    from unnest(f.points) with ordinality as u(p, i)
  ) running
);

-- Sales of one location over a range of days, whatever the variant (the ABC
-- report's last 90 days), read from the index alone.
create index sales_daily_location_day on sales_daily (location_id, day) include (variant_id, units);
