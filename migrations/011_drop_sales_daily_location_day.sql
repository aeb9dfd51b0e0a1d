-- 010 indexed sales_daily by location and day for the ABC report to read its
-- last 90 days from the rollup. Measured at 200,000 and 1,000,000 orders, that
-- report was no faster from the rollup (the join to every stock level of the
-- location costs more than the sales), so it keeps reading the ledger and the
-- index only slowed the rollup's writes.
drop index sales_daily_location_day;
