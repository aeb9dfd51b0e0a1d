-- One cursor per outbox consumer (webhooks, channel sync, rollups, NATS).
-- The dispatcher leases a consumer's row with FOR UPDATE SKIP LOCKED, handles
-- the events after last_event_id (commit-safe order, see listEvents) and
-- advances the cursor in the same transaction: of all Keel processes exactly
-- one runs a consumer at a time, and a crash means a redelivery, not a loss.
create table outbox_cursors (
  consumer       text primary key,
  last_event_id  bigint not null default 0,   -- 0: before the first event
  updated_at     timestamptz not null default now()
);
