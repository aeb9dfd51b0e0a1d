-- Shopify reconcile (issue 11): sync jobs also page the shop's recent orders
-- (ingesting what a lost webhook missed) and, daily, compare every level with
-- what Keel offers. At most one open reconcile per channel, so every Keel
-- process may schedule the daily one.
alter table shopify_sync_jobs drop constraint shopify_sync_jobs_what_check;
alter table shopify_sync_jobs add constraint shopify_sync_jobs_what_check
  check (what in ('products', 'inventory', 'orders', 'reconcile'));
create unique index shopify_sync_jobs_one_reconcile on shopify_sync_jobs (channel_id)
  where what = 'reconcile' and status in ('queued', 'running');
