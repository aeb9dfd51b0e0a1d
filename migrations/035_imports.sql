-- CSV imports: one row per uploaded file, its progress and its row errors.
-- heartbeat_at moves while a process works on the import; a running import
-- whose heartbeat stopped (its process died) is marked failed by a job.
create table imports (
  id            bigint generated always as identity primary key,
  kind          text not null check (kind in ('products', 'levels')),
  status        text not null default 'running' check (status in ('running', 'done', 'failed')),
  actor         text not null,
  currency      char(3) not null default 'EUR',
  rows          int not null default 0,
  applied       int not null default 0,
  errors        jsonb not null default '[]',
  error_count   int not null default 0,
  -- set by the process that runs it, so a replayed request (Idempotency-Key) starts nothing
  started       boolean not null default false,
  created_at    timestamptz not null default now(),
  heartbeat_at  timestamptz not null default now(),
  finished_at   timestamptz
);

create index imports_running on imports (heartbeat_at) where status = 'running';
