-- Customer e-mails: one row per message to send, written by the outbox
-- consumer in the dispatcher's transaction (so each committed event makes its
-- message exactly once) and sent afterwards from a leased row, with retries.
create table customer_notifications (
  id               bigint generated always as identity primary key,
  order_id         bigint not null references orders(id),
  kind             text not null check (kind in ('shipped', 'refunded')),
  -- the outbox event it answers: the same event never makes two messages
  event_id         bigint not null,
  to_address       text not null,
  subject          text not null,
  body             text not null,
  status           text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  attempts         int not null default 0,
  next_attempt_at  timestamptz not null default now(),
  lease_until      timestamptz,
  last_error       text,
  message_id       text,
  created_at       timestamptz not null default now(),
  sent_at          timestamptz,
  unique (event_id, kind)
);
create index customer_notifications_due on customer_notifications (next_attempt_at) where status = 'pending';
create index customer_notifications_order on customer_notifications (order_id, id);
