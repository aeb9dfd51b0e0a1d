-- WooCommerce stock out: which WooCommerce product (or variation of which
-- parent) carries each SKU, and the last stock values WooCommerce accepted.
-- WooCommerce has no compare-and-set: Keel sends absolute values computed at
-- send time and pushes again whatever differs from what it last sent.
create table channel_woo_items (
  channel_id        bigint not null references channels(id) on delete cascade,
  sku               text not null,
  product_id        text not null,            -- the product, or the variation's parent
  variation_id      text,                     -- null for a simple product
  last_quantity     int,
  last_status       text check (last_status in ('instock', 'outofstock', 'onbackorder')),
  pushed_at         timestamptz,
  -- set when Keel's stock of the SKU changed (inventory.level_changed); cleared once pushed after that
  dirty_at          timestamptz,
  primary key (channel_id, sku)
);
create index channel_woo_items_dirty on channel_woo_items (channel_id, dirty_at) where dirty_at is not null;
create index channel_woo_items_sku on channel_woo_items (sku);
