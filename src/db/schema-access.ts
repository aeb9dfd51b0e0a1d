import type { ColumnType, Generated } from "kysely";

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface RolesTable {
  id: Generated<number>;
  name: string;
  description: Generated<string>;
  built_in: Generated<boolean>;
  created_at: Timestamp;
}

export interface RolePermissionsTable {
  role_id: number;
  permission: string;
}

export interface ApiKeyRolesTable {
  api_key_id: number;
  role_id: number;
}

export interface UsersTable {
  id: Generated<number>;
  email: string;
  name: string;
  password_hash: string;
  disabled: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
  totp_secret: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>;
  totp_pending_secret: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>;
  totp_enabled_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  totp_last_step: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface UserRolesTable {
  user_id: number;
  role_id: number;
}

export interface SessionsTable {
  id: Generated<number>;
  token_hash: Buffer;
  user_id: number;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
  ip: string | null;
  user_agent: string | null;
}

export interface LoginFailuresTable {
  key: string;
  failures: number;
  last_failure_at: Timestamp;
  blocked_until: Timestamp;
}

declare module "./schema.js" {
  interface Database {
    roles: RolesTable;
    role_permissions: RolePermissionsTable;
    api_key_roles: ApiKeyRolesTable;
    users: UsersTable;
    user_roles: UserRolesTable;
    sessions: SessionsTable;
    login_failures: LoginFailuresTable;
  }
  // migration 062: idempotency records of signed-in users (api_key_id is then null)
  interface IdempotencyKeysTable {
    user_id: ColumnType<number | null, number | null | undefined, never>;
  }
  // migration 060 adds optional key expiry to the platform's api_keys table
  interface ApiKeysTable {
    expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  }
}
