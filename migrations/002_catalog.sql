-- Catalog: locations, products, variants, bundle components.

create table locations (
  id          bigint generated always as identity primary key,
  code        text not null unique check (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  name        text not null check (length(name) between 1 and 200),
  kind        text not null check (kind in ('warehouse', 'store', '3pl')),
  -- Lower number = preferred when Keel chooses where to take stock from.
  priority    int not null default 100 check (priority between 0 and 1000000),
  country     char(2) check (country ~ '^[A-Z]{2}$'),
  active      boolean not null default true,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create table products (
  id          bigint generated always as identity primary key,
  title       text not null check (length(title) between 1 and 500),
  handle      text not null unique check (handle ~ '^[a-z0-9][a-z0-9-]{0,199}$'),
  kind        text not null check (kind in ('physical', 'digital', 'bundle')),
  status      text not null check (status in ('draft', 'active', 'archived')),
  description text,
  options     jsonb not null default '[]',
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);
create index products_status on products (status, id);
create index products_kind on products (kind, id);
create index products_title_lower on products (lower(title) text_pattern_ops);

create table variants (
  id                  bigint generated always as identity primary key,
  product_id          bigint not null references products(id) on delete cascade,
  -- Copied from the product (a product's kind never changes) so stock paths need no join.
  kind                text not null check (kind in ('physical', 'digital', 'bundle')),
  -- SKU: 1-64 chars, letters, digits and . _ - / ; starts with a letter or digit.
  sku                 text not null unique check (sku ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
  title               text,
  options             jsonb not null default '{}',
  position            int not null default 0,
  price               bigint not null check (price >= 0),
  currency            char(3) not null check (currency ~ '^[A-Z]{3}$'),
  cost                bigint check (cost >= 0),
  barcode             text check (barcode ~ '^[0-9]{8}$|^[0-9]{12,14}$'),
  weight_grams        int check (weight_grams >= 0),
  unit_of_measure     text not null default 'each',
  inventory_policy    text not null default 'deny' check (inventory_policy in ('deny', 'backorder', 'preorder')),
  low_stock_threshold int check (low_stock_threshold >= 0),
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now()
);
create index variants_product on variants (product_id, position, id);
create index variants_sku_lower on variants (lower(sku) text_pattern_ops);

-- A bundle product's components, by component variant; every variant of the
-- bundle product consists of these.
create table bundle_components (
  product_id            bigint not null references products(id) on delete cascade,
  component_variant_id  bigint not null references variants(id),
  quantity              int not null check (quantity between 1 and 10000),
  primary key (product_id, component_variant_id)
);
create index bundle_components_component on bundle_components (component_variant_id);
