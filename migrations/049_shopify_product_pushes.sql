-- Shopify products out (issue 11): with `products: "export"` in the channel's
-- config, a change of a Keel product (title, status, variant prices) is pushed
-- to the Shopify product its SKUs are mapped to. One row per channel × Shopify
-- product holding only the latest wanted state (coalesced like the stock
-- targets), written by the outbox consumer, sent by a leased sender.
create table shopify_product_pushes (
  channel_id       bigint not null references channels(id) on delete cascade,
  product_gid      text not null check (product_gid like 'gid://shopify/Product/%'),
  keel_product_id  bigint not null,
  -- {title, status, variants: [{id, price}]}: what Shopify should show
  wanted           jsonb not null,
  state            text not null default 'pending' check (state in ('pending', 'sent', 'failed')),
  attempt          integer not null default 0,
  next_attempt_at  timestamptz not null default now(),
  leased_until     timestamptz,
  -- bumped on every new wanted state: a sender only marks sent the version it sent
  version          integer not null default 1,
  error            text,
  sent_at          timestamptz,
  updated_at       timestamptz not null default now(),
  primary key (channel_id, product_gid)
);
create index shopify_product_pushes_due on shopify_product_pushes (next_attempt_at) where state = 'pending';
