-- Four-eyes approvals (src/approvals). A write that a policy (settings key
-- `approvals`) sends for approval is kept here, with everything needed to run
-- it later, and changes nothing else. Another principal decides once; an
-- approval runs the write in the deciding transaction, under this row's lock.
--
-- The database holds the invariants:
--   * a request leaves `pending` once and never changes status again
--     (trigger), so a write runs at most once however many approvers race;
--   * one decision per request (unique), never by the requester (check).
create table approvals (
  id                   bigint generated always as identity primary key,
  kind                 text not null check (kind in ('stock_adjustment', 'refund', 'paid_order_cancel',
                         'fraud_hold_release', 'purchase_order', 'count_variance', 'admin_grant')),
  status               text not null default 'pending'
                         check (status in ('pending', 'rejected', 'expired', 'executed', 'failed')),
  action               text not null,            -- the write held back: "POST /v1/inventory/adjustments"
  entity_type          text,
  entity_id            text,
  summary              text not null,            -- what it would do, in words
  payload              jsonb not null,           -- what the write runs with
  facts                jsonb not null,           -- why the policy matched: value, threshold…
  snapshot             jsonb,                    -- the state it was asked against; execution re-checks it
  approver_permission  text not null check (approver_permission ~ '^[a-z_]+:[a-z_]+$'),
  request_permission   text check (request_permission ~ '^[a-z_]+:[a-z_]+$'),  -- what the write needs: the
                                                 -- requester must still hold it when it runs
  requested_by         text not null,            -- "key:<id>" or "user:<id>": who may not decide
  requested_actor      text not null,            -- "api_key:<name>" / "user:<email>", for ledgers and audit
  requested_at         timestamptz not null default now(),
  expires_at           timestamptz not null,
  decided_by           text,
  decided_actor        text,
  decided_at           timestamptz,
  reason               text,                     -- the approver's or rejecter's words
  result_status        int,                      -- the executed write's HTTP status
  result               jsonb,                    -- its reply (secrets redacted)
  failure              jsonb,                    -- {code, detail} when re-validation refused it
  check (expires_at > requested_at),
  check ((status = 'pending') = (decided_at is null)),
  check (status <> 'executed' or result_status is not null),
  check (status <> 'failed' or failure is not null)
);
create index approvals_pending on approvals (expires_at) where status = 'pending';
create index approvals_by_status on approvals (status, kind, id);

create function approvals_decided_once() returns trigger language plpgsql as $$
begin
  if old.status <> 'pending' then
    raise exception 'approval % is % already: it cannot change again', old.id, old.status
      using errcode = 'check_violation';
  end if;
  if new.payload <> old.payload or new.action <> old.action or new.requested_by <> old.requested_by
     or new.approver_permission <> old.approver_permission
     or new.request_permission is distinct from old.request_permission then
    raise exception 'approval % : what was requested cannot change', old.id using errcode = 'check_violation';
  end if;
  return new;
end $$;
create trigger approvals_decided_once before update on approvals
  for each row execute function approvals_decided_once();

create table approval_decisions (
  approval_id   bigint not null unique references approvals (id),
  requested_by  text not null,
  decided_by    text not null,
  decision      text not null check (decision in ('approve', 'reject')),
  reason        text,
  at            timestamptz not null default now(),
  check (decided_by <> requested_by)
);
