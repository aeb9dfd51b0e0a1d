-- Users, roles and scoped API keys. Permissions are strings defined in code
-- (src/access/permissions.ts); roles are data. The built-in roles' permission
-- lists are kept equal to the code's matrix (src/access/roles.ts) at startup;
-- custom roles are made through the API.

create table roles (
  id           bigint generated always as identity primary key,
  name         text not null unique check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  description  text not null default '',
  built_in     boolean not null default false,
  created_at   timestamptz not null default now()
);

create table role_permissions (
  role_id     bigint not null references roles(id) on delete cascade,
  permission  text not null check (permission ~ '^[a-z_]+:[a-z_]+$'),
  primary key (role_id, permission)
);

create table api_key_roles (
  api_key_id  bigint not null references api_keys(id),
  role_id     bigint not null references roles(id),
  primary key (api_key_id, role_id)
);

alter table api_keys add column expires_at timestamptz;

-- Today's keys could do everything: they become integration + admin, so nothing breaks.
insert into roles (name, description, built_in) values
  ('integration', 'Shop and ERP connectors: catalog, stock, orders, fulfilment, returns', true),
  ('admin', 'Everything, including users, roles, keys and settings', true);
insert into api_key_roles (api_key_id, role_id)
  select k.id, r.id from api_keys k cross join roles r where r.name in ('integration', 'admin');

create table users (
  id             bigint generated always as identity primary key,
  email          text not null check (email ~ '^[^@\s]+@[^@\s]+$' and length(email) <= 254),
  name           text not null check (length(name) between 1 and 200),
  password_hash  text not null,
  disabled       boolean not null default false,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);
create unique index users_email_key on users (lower(email));

create table user_roles (
  user_id  bigint not null references users(id),
  role_id  bigint not null references roles(id),
  primary key (user_id, role_id)
);

-- A session is found by the SHA-256 of its cookie token; the token itself is never stored.
create table sessions (
  id            bigint generated always as identity primary key,
  token_hash    bytea not null unique,
  user_id       bigint not null references users(id),
  created_at    timestamptz not null default now(),
  last_seen_at  timestamptz not null default now(),
  expires_at    timestamptz not null,
  ip            inet,
  user_agent    text
);
create index sessions_user on sessions (user_id);

-- Failed sign-ins per account and per IP, for back-off (never a lockout).
create table login_failures (
  key              text primary key,
  failures         int not null,
  last_failure_at  timestamptz not null,
  blocked_until    timestamptz not null
);

-- Every process caches verified API keys; any change that can narrow what a
-- key may do tells all of them at once, whichever process (or psql) made it.
create function notify_access_changed() returns trigger language plpgsql as $$
begin
  perform pg_notify('keel_access', tg_table_name);
  return null;
end $$;
create trigger api_keys_changed after update or delete on api_keys
  for each statement execute function notify_access_changed();
create trigger api_key_roles_changed after insert or update or delete on api_key_roles
  for each statement execute function notify_access_changed();
create trigger role_permissions_changed after insert or update or delete on role_permissions
  for each statement execute function notify_access_changed();
create trigger roles_changed after update or delete on roles
  for each statement execute function notify_access_changed();
