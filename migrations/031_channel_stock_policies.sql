-- Channel stock policies: what each channel is offered of Keel's availability
-- (seed 002's channel-specific inventory pools). One row per channel; a channel
-- without a row is offered everything available at every active location.
--   offered = floor(max(0, Σ available over `locations` − buffer) × share_percent / 100), capped at max
create table channel_stock_policies (
  channel_id     bigint primary key references channels(id) on delete cascade,
  locations      text[],                        -- location codes the channel sells from; null = all active
  buffer         integer not null default 0 check (buffer >= 0),
  share_percent  integer not null default 100 check (share_percent between 1 and 100),
  max            integer check (max >= 0),
  updated_at     timestamptz not null default now()
);
