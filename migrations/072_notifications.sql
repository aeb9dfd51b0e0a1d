-- Where alerts are sent (src/alerts/notify*.ts): a signed webhook, a
-- Slack-compatible incoming webhook or an e-mail address, for some alert
-- kinds (all when empty). A digest target gets one message per window with
-- every alert opened in it, instead of one message per alert.
create table notification_targets (
  id               bigint generated always as identity primary key,
  kind             text not null check (kind in ('webhook', 'slack', 'email')),
  target           text not null check (length(target) between 3 and 2000),
  alert_kinds      text[] not null default '{}',
  digest_minutes   int check (digest_minutes between 1 and 10080),
  -- HMAC secret of webhook targets (Keel-Signature, as webhook subscriptions)
  secret           text,
  active           boolean not null default true,
  last_digest_at   timestamptz,
  created_at       timestamptz not null default now(),
  check ((kind = 'webhook') = (secret is not null))
);

-- One row per target x opened alert, written by the outbox consumer in the
-- dispatcher's transaction (so exactly once per alert); sent afterwards by
-- the notification job. A digest target's rows wait as `queued` until its
-- window ends, then go out together in one message (`digest_id` names it).
create table notifications (
  id            bigint generated always as identity primary key,
  target_id     bigint not null references notification_targets(id),
  alert_id      bigint not null,
  event_id      bigint not null,
  status        text not null default 'pending' check (status in ('queued', 'pending', 'sent', 'failed')),
  attempts      int not null default 0,
  next_at       timestamptz not null default now(),
  leased_until  timestamptz,
  digest_id     bigint,
  last_error    text,
  created_at    timestamptz not null default now(),
  sent_at       timestamptz,
  unique (target_id, alert_id)
);
create index notifications_due on notifications (next_at, id) where status = 'pending';
create index notifications_queued on notifications (target_id, id) where status = 'queued';
