-- Returns (RMA): a customer sends back shipped units; each is received into
-- return_pending, inspected, and given a disposition that moves it on.

create sequence return_numbers start with 5001;

create table returns (
  id                 bigint generated always as identity primary key,
  number             text not null unique default ('R-' || nextval('return_numbers')),
  order_id           bigint not null references orders(id),
  status             text not null default 'requested' check (status in ('requested', 'authorised', 'rejected',
                       'received', 'inspected', 'closed')),
  -- where the parcel is (or will be) received
  location_id        bigint references locations(id),
  rejection_reason   text,
  note               text,
  refunded           bigint not null default 0 check (refunded >= 0),
  exchange_order_id  bigint references orders(id),
  actor              text not null,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now()
);
create index returns_order on returns (order_id);
create index returns_status on returns (status, id);

create table return_lines (
  id             bigint generated always as identity primary key,
  return_id      bigint not null references returns(id),
  line_no        int not null check (line_no > 0),
  order_line_id  bigint not null references order_lines(id),
  sku            text not null,
  quantity       int not null check (quantity > 0),
  reason         text not null,
  received       int not null default 0 check (received >= 0),
  inspected      int not null default 0 check (inspected >= 0),
  unique (return_id, line_no),
  unique (return_id, order_line_id),
  check (received <= quantity),
  check (inspected <= received)
);
create index return_lines_order_line on return_lines (order_line_id);

-- One row per inspection decision: part of a line's units, their condition and where they went.
create table return_inspections (
  id              bigint generated always as identity primary key,
  return_line_id  bigint not null references return_lines(id),
  quantity        int not null check (quantity > 0),
  condition       text not null check (condition in ('new', 'opened', 'used', 'damaged', 'defective')),
  disposition     text not null check (disposition in ('restock', 'quarantine', 'refurbish', 'scrap')),
  note            text,
  actor           text not null,
  at              timestamptz not null default now()
);
create index return_inspections_line on return_inspections (return_line_id);

create table return_refunds (
  id          bigint generated always as identity primary key,
  return_id   bigint not null references returns(id),
  amount      bigint not null check (amount > 0),
  reference   text,
  actor       text not null,
  at          timestamptz not null default now()
);
create index return_refunds_return on return_refunds (return_id);

create table return_timeline (
  id           bigint generated always as identity primary key,
  return_id    bigint not null references returns(id),
  from_status  text,
  to_status    text not null,
  action       text not null,
  actor        text not null,
  reason       text,
  at           timestamptz not null default now()
);
create index return_timeline_return on return_timeline (return_id, id);

insert into movement_reasons (code, description, manual) values
  ('return_disposition', 'Returned goods moved on after inspection', false)
on conflict (code) do nothing;
