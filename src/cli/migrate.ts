import type { Connection } from "./database.js";

/** `keel migrate`: connect() has applied what was pending; say what that was. */
export function reportMigrations(conn: Connection): void {
  if (conn.applied.length === 0) {
    process.stdout.write(`Database is up to date (${conn.where}).\n`);
    return;
  }
  for (const file of conn.applied) process.stdout.write(`applied ${file}\n`);
  process.stdout.write(`${conn.applied.length} migration(s) applied (${conn.where}).\n`);
}
