-- Orders: sales channels, orders and their lines, the stock each line holds
-- per location, payments, the timeline, fulfilments and pick bins.

create table channels (
  id          bigint generated always as identity primary key,
  code        text not null unique check (code ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  kind        text not null check (kind in ('shopify', 'woocommerce', 'webhook', 'manual')),
  name        text not null check (length(name) between 1 and 200),
  -- sla_hours, allow_split; later: credentials, webhook secrets, sync options
  config      jsonb not null default '{}' check (jsonb_typeof(config) = 'object'),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);
-- Orders placed without a channel (the admin app, the API) belong here.
insert into channels (code, kind, name) values ('manual', 'manual', 'Manual and API orders');

-- Human-readable order numbers: K-100001, K-100002, ...
create sequence order_numbers start with 100001;

create table orders (
  id                  bigint generated always as identity primary key,
  number              text not null unique default ('K-' || nextval('order_numbers')),
  channel_id          bigint not null references channels(id),
  external_id         text check (length(external_id) between 1 and 200),
  status              text not null check (status in ('received', 'on_hold', 'approved', 'backordered',
                        'preparing', 'partially_shipped', 'shipped', 'completed', 'cancelled')),
  -- the status an on_hold order returns to when released
  held_from           text check (held_from in ('received', 'approved', 'backordered', 'preparing',
                        'partially_shipped')),
  -- [{code, detail, actor, at}] while on hold
  hold_reasons        jsonb not null default '[]',
  payment_status      text not null default 'pending' check (payment_status in ('pending', 'authorized',
                        'partially_paid', 'paid', 'failed', 'voided', 'partially_refunded', 'refunded')),
  fulfillment_status  text not null default 'unfulfilled' check (fulfillment_status in ('unfulfilled',
                        'in_progress', 'partial', 'fulfilled', 'delivered')),
  currency            char(3) not null check (currency ~ '^[A-Z]{3}$'),
  customer_email      text not null,
  customer_name       text,
  customer_phone      text,
  shipping_address    jsonb not null,
  billing_address     jsonb,
  subtotal            bigint not null check (subtotal >= 0),
  discount_total      bigint not null default 0 check (discount_total >= 0),
  shipping_total      bigint not null default 0 check (shipping_total >= 0),
  tax_total           bigint not null default 0 check (tax_total >= 0),
  total               bigint not null check (total >= 0),
  -- when the order's reserved units became allocated (approval or payment, by setting)
  stock_committed_at  timestamptz,
  placed_at           timestamptz not null default now(),
  sla_due_at          timestamptz not null,
  note                text,
  actor               text not null,
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  unique (channel_id, external_id)
);
create index orders_queue on orders (status, placed_at, id);
create index orders_age on orders (placed_at, id);
create index orders_channel on orders (channel_id, placed_at, id);
create index orders_email on orders (lower(customer_email), placed_at);
create index orders_sla on orders (sla_due_at)
  where status in ('received', 'on_hold', 'approved', 'backordered', 'preparing', 'partially_shipped');

create table order_lines (
  id           bigint generated always as identity primary key,
  order_id     bigint not null references orders(id),
  line_no      int not null check (line_no > 0),
  variant_id   bigint not null references variants(id),
  sku          text not null,
  kind         text not null check (kind in ('physical', 'digital', 'bundle')),
  title        text,
  quantity     int not null check (quantity > 0),
  unit_price   bigint not null check (unit_price >= 0),
  -- line units cancelled, and line units waiting for stock (never held)
  cancelled    int not null default 0 check (cancelled >= 0),
  backordered  int not null default 0 check (backordered >= 0),
  -- the allocation decision for the line as a whole: [{rule, detail}]
  decision     jsonb not null default '[]',
  unique (order_id, line_no),
  check (cancelled + backordered <= quantity)
);
create index order_lines_backordered on order_lines (variant_id) where backordered > 0;

-- What a line holds at a location, per stocked variant (a bundle line has one
-- row per component and location). Counters are in stocked units. The sum of
-- `reserved` over all rows of a variant x location (plus active checkout
-- reservations) equals its reserved bucket; the same for `allocated`.
create table order_allocations (
  id           bigint generated always as identity primary key,
  order_id     bigint not null references orders(id),
  line_id      bigint not null references order_lines(id),
  variant_id   bigint not null references variants(id),
  location_id  bigint not null references locations(id),
  -- stocked units per line unit (a bundle's component quantity; 1 otherwise)
  per_unit     int not null default 1 check (per_unit > 0),
  -- true on the one row per line and location that counts line units (the first component)
  counts_units boolean not null default true,
  reserved     int not null default 0 check (reserved >= 0),
  allocated    int not null default 0 check (allocated >= 0),
  shipped      int not null default 0 check (shipped >= 0),
  released     int not null default 0 check (released >= 0),
  -- why this location: [{rule, detail}]
  reasons      jsonb not null default '[]',
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  unique (line_id, variant_id, location_id)
);
create index order_allocations_order on order_allocations (order_id);
create index order_allocations_level on order_allocations (variant_id, location_id);

create table order_payments (
  id          bigint generated always as identity primary key,
  order_id    bigint not null references orders(id),
  kind        text not null check (kind in ('authorized', 'paid', 'failed', 'voided', 'refunded')),
  amount      bigint not null check (amount >= 0),
  reference   text,
  actor       text not null,
  created_at  timestamptz not null default now()
);
create index order_payments_order on order_payments (order_id, id);

create table order_timeline (
  id           bigint generated always as identity primary key,
  order_id     bigint not null references orders(id),
  from_status  text,
  to_status    text not null,
  action       text not null,
  actor        text not null,
  reason       text,
  at           timestamptz not null default now()
);
create index order_timeline_order on order_timeline (order_id, id);

create table fulfillments (
  id               bigint generated always as identity primary key,
  order_id         bigint not null references orders(id),
  location_id      bigint not null references locations(id),
  status           text not null default 'pending' check (status in ('pending', 'picking', 'packed', 'shipped',
                     'delivered', 'cancelled')),
  carrier          text,
  tracking_number  text,
  actor            text not null,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  shipped_at       timestamptz,
  delivered_at     timestamptz
);
create index fulfillments_queue on fulfillments (location_id, status, id);
create index fulfillments_order on fulfillments (order_id, id);

-- Stocked units of an allocation (a line's stock at the fulfilment's location) in a fulfilment.
create table fulfillment_lines (
  fulfillment_id  bigint not null references fulfillments(id),
  allocation_id   bigint not null references order_allocations(id),
  quantity        int not null check (quantity > 0),
  primary key (fulfillment_id, allocation_id)
);
create index fulfillment_lines_allocation on fulfillment_lines (allocation_id);

-- Where a variant lives in a location, for sorting pick lists.
create table pick_bins (
  variant_id   bigint not null references variants(id),
  location_id  bigint not null references locations(id),
  bin          text not null check (bin ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,31}$'),
  primary key (variant_id, location_id)
);
