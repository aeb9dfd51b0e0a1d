-- Pull mode of the ERP/WMS stock feed: a channel of kind `webhook` whose
-- config names `stock_feed.url` is polled with ?changedSince=<cursor>. One row
-- per such channel: the cursor only moves in the transaction that applied the
-- batch it came with, so a crash between fetch and commit re-fetches the same
-- batch (applying it again is harmless: same as_of → unchanged).
create table stock_feed_pulls (
  channel_id       bigint primary key references channels(id) on delete cascade,
  cursor           text not null default '',
  next_run_at      timestamptz not null default now(),
  -- a process fetching holds the lease; another process skips the row until it expires
  leased_until     timestamptz,
  last_success_at  timestamptz,
  last_error       text,
  consecutive_failures integer not null default 0,
  pulled_levels    bigint not null default 0
);
