-- Background jobs that do not lease rows of their own run once per interval
-- across every Keel process sharing this database: a process claims the
-- job's tick by moving started_at forward (one conditional upsert), and runs
-- it under a session advisory lock so a slow run never overlaps the next.
create table job_ticks (
  name text primary key,
  started_at timestamptz not null,
  started_by text not null,
  finished_at timestamptz,
  runs bigint not null default 0
);
