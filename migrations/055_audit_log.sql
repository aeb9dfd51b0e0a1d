-- Audit trail: one row per successful write, inserted by write() in the same
-- transaction as the change (src/access/audit.ts). Append-only, enforced by
-- the database: triggers refuse UPDATE, DELETE and TRUNCATE for every role
-- that cannot disable triggers.
--
-- Tamper evidence lives in a second append-only table, audit_seals, rather
-- than in hash columns on audit_log: that way audit_log never needs an
-- exception for "set the hash once", and both tables allow INSERT only. The
-- sealing job (one at a time, under an advisory lock) appends one seal per
-- audit row; the chain runs in seal order (seq), each hash =
-- sha256(prev_hash || to_jsonb(audit row)::text). Chaining in seal order and
-- not strictly in id order is what makes it sound: ids are taken before
-- commit, so a row with a lower id can become visible after a higher one;
-- it is then simply sealed in the next batch instead of leaving a hole.
create table audit_log (
  id          bigserial primary key,
  at          timestamptz not null default now(),
  actor       text not null,
  actor_kind  text not null check (actor_kind in ('key', 'user', 'anonymous')),  -- anonymous: public routes
  action      text not null,                 -- "POST /v1/orders/:id/approve" or a service-level name
  entity_type text,
  entity_id   text,
  before      jsonb,
  after       jsonb,
  request_id  text,
  ip          text,
  approval_id bigint                          -- the approval that allowed it (four-eyes), when one
);
create index audit_log_entity on audit_log (entity_type, entity_id, id);
create index audit_log_actor on audit_log (actor, id);
create index audit_log_at on audit_log (at);

create table audit_seals (
  seq       bigint primary key,                -- 1, 2, 3 … in chain order, no gaps
  id        bigint not null unique references audit_log (id),
  prev_hash bytea not null,                    -- 32 zero bytes for seq 1
  hash      bytea not null,
  sealed_at timestamptz not null default now()
);

create function audit_append_only() returns trigger language plpgsql as $$
begin
  raise exception '% is append-only: % is not allowed', tg_table_name, tg_op
    using errcode = 'insufficient_privilege';
end $$;

create trigger audit_log_no_change before update or delete on audit_log
  for each row execute function audit_append_only();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_append_only();
create trigger audit_seals_no_change before update or delete on audit_seals
  for each row execute function audit_append_only();
create trigger audit_seals_no_truncate before truncate on audit_seals
  for each statement execute function audit_append_only();
