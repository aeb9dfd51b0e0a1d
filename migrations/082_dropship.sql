-- Drop-ship: a supplier item marked `dropship` is shipped by the supplier
-- straight to the customer. Its order lines hold no stock (order_lines.dropship
-- counts the units waiting for the supplier); placement raises, or adds to,
-- the day's drop-ship purchase order to that supplier for that ship-to; the
-- supplier's shipment (POST /v1/purchase-orders/{id}/ship) becomes a
-- fulfilment without a location, so invoices, notifications and channel
-- confirmations follow as for any shipment.

alter table supplier_items add column dropship boolean not null default false;

-- Units of a line the supplier is to ship (neither held from stock nor backordered).
alter table order_lines add column dropship int not null default 0 check (dropship >= 0),
  add constraint order_lines_units_accounted check (cancelled + backordered + dropship <= quantity);

-- A drop-ship purchase order ships to the customer, not to a location: it never
-- touches incoming. `ship_to_key` and `dropship_day` name the day's order per
-- supplier and ship-to, one open at a time (the unique index below).
alter table purchase_orders alter column location_id drop not null,
  add column ship_to jsonb check (ship_to is null or jsonb_typeof(ship_to) = 'object'),
  add column ship_to_key text,
  add column dropship_day date,
  add column carrier text check (length(carrier) between 1 and 100),
  add column tracking_number text check (length(tracking_number) between 1 and 200),
  add column shipped_at timestamptz,
  add constraint purchase_orders_dropship_shape check (
    (ship_to is null and ship_to_key is null and dropship_day is null and location_id is not null)
    or (ship_to is not null and ship_to_key is not null and dropship_day is not null and location_id is null));
alter table purchase_orders drop constraint purchase_orders_status_check,
  add constraint purchase_orders_status_check check (status in
    ('draft', 'submitted', 'partially_received', 'received', 'closed', 'cancelled', 'shipped')),
  add constraint purchase_orders_shipped_dropship check (status <> 'shipped' or ship_to is not null);
create unique index purchase_orders_dropship_day on purchase_orders (supplier_id, ship_to_key, dropship_day)
  where status = 'submitted' and ship_to is not null;

-- Which order line each drop-ship purchase order line is for. The purchase
-- order line's quantity is the sum of its rows' open units (quantity − cancelled).
create table dropship_lines (
  purchase_order_id  bigint not null references purchase_orders(id),
  order_line_id      bigint not null references order_lines(id),
  order_id           bigint not null references orders(id),
  variant_id         bigint not null references variants(id),
  quantity           int not null check (quantity > 0),
  cancelled          int not null default 0 check (cancelled >= 0),
  shipped            int not null default 0 check (shipped >= 0),
  primary key (purchase_order_id, order_line_id),
  check (cancelled + shipped <= quantity)
);
create index dropship_lines_order on dropship_lines (order_id);

-- The supplier's shipment is a fulfilment of no location; its lines hang on
-- an allocation row of no location that only ever counts shipped units.
alter table fulfillments alter column location_id drop not null,
  add column purchase_order_id bigint references purchase_orders(id),
  add constraint fulfillments_location_or_supplier check ((location_id is null) = (purchase_order_id is not null));
create index fulfillments_purchase_order on fulfillments (purchase_order_id) where purchase_order_id is not null;
alter table order_allocations alter column location_id drop not null,
  add constraint order_allocations_dropship_ships_only check (
    location_id is not null or (reserved = 0 and allocated = 0 and released = 0));

-- Cost of goods for a drop-shipped unit: the supplier's cost against purchase clearing.
alter table journal_entries drop constraint journal_entries_source_type_check,
  add constraint journal_entries_source_type_check check (source_type in ('invoice', 'credit_note', 'payment',
    'refund', 'stock_movement', 'dropship'));
