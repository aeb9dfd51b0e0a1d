-- Purchasing (suppliers, purchase orders, receipts, moving-average cost),
-- replenishment (reorder rules) and cycle counts.

insert into movement_reasons (code, description, manual) values
  ('purchase_cancelled', 'Purchase order cancelled or closed short: no longer incoming', false);

create table suppliers (
  id              bigint generated always as identity primary key,
  code            text not null unique check (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  name            text not null check (length(name) between 1 and 200),
  -- days from submitting an order to its arrival, unless a supplier item says otherwise
  lead_time_days  int not null check (lead_time_days between 0 and 365),
  currency        char(3) not null check (currency ~ '^[A-Z]{3}$'),
  email           text check (length(email) <= 320),
  active          boolean not null default true,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now()
);

-- What a supplier sells us: one row per supplier x variant.
create table supplier_items (
  id              bigint generated always as identity primary key,
  supplier_id     bigint not null references suppliers(id),
  variant_id      bigint not null references variants(id),
  supplier_sku    text check (length(supplier_sku) between 1 and 100),
  -- unit cost in the supplier's currency, minor units
  cost            bigint not null check (cost >= 0),
  lead_time_days  int check (lead_time_days between 0 and 365),
  min_order_qty   int not null default 1 check (min_order_qty between 1 and 1000000),
  pack_size       int not null default 1 check (pack_size between 1 and 100000),
  -- lower = preferred when Keel picks a supplier for a suggestion
  priority        int not null default 100 check (priority between 0 and 1000000),
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  unique (supplier_id, variant_id)
);
create index supplier_items_variant on supplier_items (variant_id, priority, cost);

create table purchase_orders (
  id                  bigint generated always as identity primary key,
  supplier_id         bigint not null references suppliers(id),
  location_id         bigint not null references locations(id),
  status              text not null default 'draft' check (status in
                        ('draft', 'submitted', 'partially_received', 'received', 'closed', 'cancelled')),
  currency            char(3) not null check (currency ~ '^[A-Z]{3}$'),
  expected_date       date,
  allow_over_receipt  boolean not null default false,
  reference           text check (length(reference) <= 200),
  note                text check (length(note) <= 2000),
  actor               text not null,
  submitted_at        timestamptz,
  ended_at            timestamptz,
  end_reason          text check (length(end_reason) <= 500),
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now()
);
create index purchase_orders_status on purchase_orders (status, id);
create index purchase_orders_supplier on purchase_orders (supplier_id, id);

create table purchase_order_lines (
  purchase_order_id   bigint not null references purchase_orders(id),
  line_no             int not null check (line_no >= 1),
  variant_id          bigint not null references variants(id),
  quantity            int not null check (quantity between 1 and 10000000),
  unit_cost           bigint not null check (unit_cost >= 0),
  -- everything received on this line, over-receipts included
  received            int not null default 0 check (received >= 0),
  expected_date       date,
  allow_over_receipt  boolean not null default false,
  primary key (purchase_order_id, line_no),
  unique (purchase_order_id, variant_id)
);
-- expected dates of open lines, for backorders and pre-orders
create index purchase_order_lines_variant on purchase_order_lines (variant_id, expected_date);

create table receipts (
  id                  bigint generated always as identity primary key,
  purchase_order_id   bigint not null references purchase_orders(id),
  location_id         bigint not null references locations(id),
  -- where the units went: sellable stock, or quality control first
  bucket              text not null check (bucket in ('on_hand', 'quarantine')),
  freight             bigint not null default 0 check (freight >= 0),
  duty                bigint not null default 0 check (duty >= 0),
  reference           text check (length(reference) <= 200),
  note                text check (length(note) <= 2000),
  actor               text not null,
  created_at          timestamptz not null default now()
);
create index receipts_purchase_order on receipts (purchase_order_id, id);

create table receipt_lines (
  receipt_id      bigint not null references receipts(id),
  line_no         int not null,
  po_line_no      int not null,
  variant_id      bigint not null references variants(id),
  quantity        int not null check (quantity > 0),
  -- part of quantity beyond what the order line still expected (went straight to stock)
  over_received   int not null default 0 check (over_received >= 0),
  unit_cost       bigint not null check (unit_cost >= 0),
  -- this line's share of the receipt's freight and duty, minor units
  landed_cost     bigint not null default 0 check (landed_cost >= 0),
  primary key (receipt_id, line_no)
);

-- Per-location receiving: through inspection (quarantine) or straight to stock.
create table location_receiving (
  location_id         bigint primary key references locations(id),
  inspect             boolean not null default false,
  allow_over_receipt  boolean not null default false,
  updated_at          timestamptz not null default now()
);

-- Moving-average unit cost per variant, in the variant's purchasing currency.
create table variant_costs (
  variant_id      bigint primary key references variants(id),
  currency        char(3) not null check (currency ~ '^[A-Z]{3}$'),
  avg_cost        numeric(20, 6) not null check (avg_cost >= 0),
  -- on_hand across locations the last average was computed on, after the receipt
  on_hand_basis   int not null,
  last_receipt_id bigint references receipts(id),
  updated_at      timestamptz not null default now()
);

-- How each receipt moved the average, so a buyer can trace it.
create table cost_changes (
  id              bigint generated always as identity primary key,
  variant_id      bigint not null references variants(id),
  receipt_id      bigint not null references receipts(id),
  old_avg         numeric(20, 6),
  old_quantity    int not null,
  quantity        int not null,
  unit_cost       numeric(20, 6) not null,
  new_avg         numeric(20, 6) not null,
  created_at      timestamptz not null default now()
);
create index cost_changes_variant on cost_changes (variant_id, id);

-- Replenishment: min/max or reorder point + quantity per variant x location.
create table reorder_rules (
  id                bigint generated always as identity primary key,
  variant_id        bigint not null references variants(id),
  location_id       bigint not null references locations(id),
  kind              text not null check (kind in ('min_max', 'reorder_point')),
  reorder_point     int not null check (reorder_point >= 0),
  max_quantity      int check (max_quantity >= 0),
  reorder_quantity  int check (reorder_quantity >= 1),
  -- order in multiples of this; null = the supplier item's pack size
  multiple          int check (multiple >= 1),
  supplier_id       bigint references suppliers(id),
  actor             text not null,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  unique (variant_id, location_id),
  check ((kind = 'min_max' and max_quantity is not null and max_quantity >= reorder_point
          and reorder_quantity is null)
      or (kind = 'reorder_point' and reorder_quantity is not null and max_quantity is null))
);
create index reorder_rules_location on reorder_rules (location_id, variant_id);

-- Daily sales history for forecasts reads sale movements of one location by time.
create index inventory_movements_sales on inventory_movements (location_id, created_at)
  where reason = 'sale' and bucket = 'on_hand';

-- Cycle counts.
create table count_sessions (
  id            bigint generated always as identity primary key,
  location_id   bigint not null references locations(id),
  status        text not null default 'open' check (status in ('open', 'submitted', 'approved', 'cancelled')),
  -- what is counted: all, a SKU list, or an ABC class
  scope         text not null check (scope in ('all', 'skus', 'abc')),
  abc_class     char(1) check (abc_class in ('A', 'B', 'C')),
  blind         boolean not null default false,
  note          text check (length(note) <= 2000),
  actor         text not null,
  submitted_at  timestamptz,
  approved_by   text,
  ended_at      timestamptz,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);
create index count_sessions_location on count_sessions (location_id, id);

create table count_lines (
  count_id          bigint not null references count_sessions(id),
  variant_id        bigint not null references variants(id),
  -- on_hand when the count started, and the last ledger id it includes for this SKU x location
  expected          int not null,
  snapshot_movement bigint not null default 0,
  counted           int check (counted >= 0),
  -- last ledger id for this SKU x location when it was counted: movements in between correct `expected`
  counted_movement  bigint,
  counted_at        timestamptz,
  -- fixed when the count is submitted
  corrected_expected int,
  variance          int,
  unit_cost         numeric(20, 6),
  variance_value    bigint,
  needs_approval    boolean not null default false,
  primary key (count_id, variant_id)
);
