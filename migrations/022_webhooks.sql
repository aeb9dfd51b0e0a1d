-- Outbound webhooks. A subscription receives every event whose type matches
-- one of its filters (exact or prefix.*). The "webhooks" outbox consumer
-- writes one delivery per matching subscription × event in the dispatcher's
-- transaction; the sender leases due deliveries (only the oldest pending one
-- of a subscription is due, so each subscription receives events in order),
-- sends them outside any transaction and records the result.
-- The secret is stored as given; encrypting secrets at rest is a separate issue.
create table webhook_subscriptions (
  id          bigserial primary key,
  url         text not null,
  events      text[] not null,
  secret      text not null,
  status      text not null default 'active' check (status in ('active', 'failing')),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create table webhook_deliveries (
  id               bigserial primary key,        -- per subscription, the send order
  subscription_id  bigint not null references webhook_subscriptions (id) on delete cascade,
  event_id         bigint not null references outbox_events (id),
  event_type       text not null,
  status           text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
  attempt          integer not null default 0,    -- attempts made so far
  next_attempt_at  timestamptz not null default now(),
  leased_until     timestamptz,                   -- a sender is sending it until then
  status_code      integer,                       -- of the last attempt
  latency_ms       integer,
  error            text,
  replay_of        bigint references webhook_deliveries (id) on delete set null,
  delivered_at     timestamptz,
  created_at       timestamptz not null default now()
);
create index webhook_deliveries_pending on webhook_deliveries (subscription_id, id) where status = 'pending';
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_by_subscription on webhook_deliveries (subscription_id, id desc);
