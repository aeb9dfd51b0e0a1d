-- Inventory: balances per variant x location, the immutable movement ledger,
-- reservations and transfers.

create table inventory_levels (
  variant_id      bigint not null references variants(id),
  location_id     bigint not null references locations(id),
  on_hand         int not null default 0,
  reserved        int not null default 0,
  allocated       int not null default 0,
  safety_stock    int not null default 0,
  incoming        int not null default 0,
  quarantine      int not null default 0,
  damaged         int not null default 0,
  return_pending  int not null default 0,
  available       int generated always as (greatest(on_hand - reserved - allocated - safety_stock, 0)) stored,
  updated_at      timestamptz not null default now(),
  primary key (variant_id, location_id),
  constraint buckets_not_negative check (
    on_hand >= 0 and reserved >= 0 and allocated >= 0 and safety_stock >= 0 and incoming >= 0
    and quarantine >= 0 and damaged >= 0 and return_pending >= 0),
  constraint committed_within_on_hand check (on_hand >= reserved + allocated)
);
create index inventory_levels_location on inventory_levels (location_id, variant_id);

-- Why stock moved. Codes are data so a shop can add its own adjustment reasons.
create table movement_reasons (
  code        text primary key check (code ~ '^[a-z][a-z0-9_]{0,39}$'),
  description text not null,
  -- true: a person may use it on a manual adjustment
  manual      boolean not null default false
);
insert into movement_reasons (code, description, manual) values
  ('received',      'Goods received outside a purchase order', true),
  ('correction',    'Correction of a counting or booking error', true),
  ('damage',        'Found damaged', true),
  ('shrinkage',     'Lost, stolen or missing', true),
  ('found',         'Found stock that was not booked', true),
  ('quality_hold',  'Moved into or out of quality control', true),
  ('safety_stock',  'Safety stock changed', true),
  ('promotion',     'Given away or used for marketing', true),
  ('initial',       'Opening balance', true),
  ('count',         'Cycle or stock count result', true),
  ('sync',          'Channel or external system correction', true),
  ('scrap',         'Scrapped, leaves the stock', true),
  ('reservation',   'Held for a cart, checkout or order', false),
  ('release',       'Hold released', false),
  ('expiry',        'Hold expired', false),
  ('allocation',    'Hold confirmed for an order', false),
  ('deallocation',  'Allocation returned to free stock', false),
  ('sale',          'Shipped to a customer', false),
  ('transfer_out',  'Shipped to another location', false),
  ('transfer_in',   'Arriving from another location', false),
  ('receipt',       'Received against a purchase order or transfer', false),
  ('purchase',      'Ordered from a supplier, not yet received', false),
  ('return',        'Returned by a customer', false),
  ('restock',       'Returned goods put back to stock', false);

create table inventory_movements (
  id          bigint generated always as identity primary key,
  variant_id  bigint not null references variants(id),
  location_id bigint not null references locations(id),
  bucket      text not null check (bucket in ('on_hand', 'reserved', 'allocated', 'safety_stock', 'incoming',
                                              'quarantine', 'damaged', 'return_pending')),
  delta       int not null check (delta <> 0),
  reason      text not null references movement_reasons(code),
  reference   text,
  actor       text not null,
  note        text,
  created_at  timestamptz not null default now()
);
create index inventory_movements_level on inventory_movements (variant_id, location_id, id);
create index inventory_movements_reference on inventory_movements (reference, id) where reference is not null;
create index inventory_movements_location on inventory_movements (location_id, id);

-- The ledger is append-only: the database refuses to change or delete a movement.
create function inventory_movements_immutable() returns trigger language plpgsql as $$
begin
  raise exception 'inventory movements are immutable' using errcode = 'restrict_violation';
end $$;
create trigger inventory_movements_no_update before update or delete on inventory_movements
  for each row execute function inventory_movements_immutable();
create trigger inventory_movements_no_truncate before truncate on inventory_movements
  for each statement execute function inventory_movements_immutable();

create table reservations (
  id          bigint generated always as identity primary key,
  status      text not null default 'active' check (status in ('active', 'released', 'expired', 'consumed')),
  reference   text,
  actor       text not null,
  -- null: held until released or consumed (order holds)
  expires_at  timestamptz,
  created_at  timestamptz not null default now(),
  ended_at    timestamptz
);
create index reservations_expiry on reservations (expires_at) where status = 'active' and expires_at is not null;
create index reservations_reference on reservations (reference) where reference is not null;

-- What a reservation holds, per stocked variant x location. A bundle line is
-- recorded against its components, with bundle_variant_id naming the bundle.
create table reservation_lines (
  reservation_id    bigint not null references reservations(id),
  line_no           int not null,
  variant_id        bigint not null references variants(id),
  location_id       bigint not null references locations(id),
  quantity          int not null check (quantity > 0),
  bundle_variant_id bigint references variants(id),
  primary key (reservation_id, line_no)
);

create table transfers (
  id            bigint generated always as identity primary key,
  from_location bigint not null references locations(id),
  to_location   bigint not null references locations(id),
  status        text not null check (status in ('in_transit', 'partially_received', 'received')),
  reference     text,
  actor         text not null,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  check (from_location <> to_location)
);

create table transfer_lines (
  transfer_id   bigint not null references transfers(id),
  variant_id    bigint not null references variants(id),
  quantity      int not null check (quantity > 0),
  received      int not null default 0 check (received >= 0),
  primary key (transfer_id, variant_id),
  check (received <= quantity)
);
