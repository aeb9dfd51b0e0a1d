import { syncBuiltInRoles } from "../access/roles.js";
import type { DB } from "../db/pool.js";
import { createApiKey } from "../http/auth.js";
import { DomainError } from "../http/errors.js";
import { CliError } from "./database.js";

/** `keel api-key create --name N [--role R…]`: the key on stdout, once; only its hash is stored. */
export async function createApiKeyCommand(db: DB, name: string, roles?: string[]): Promise<void> {
  await syncBuiltInRoles(db);
  let created: Awaited<ReturnType<typeof createApiKey>>;
  try {
    created = await createApiKey(db, name, { roles });
  } catch (err) {
    if (err instanceof DomainError) throw new CliError(err.message);
    throw err;
  }
  const { key, prefix } = created;
  process.stdout.write(`API key: ${key}\n`);
  process.stderr.write(
    `Created API key "${name}" (${prefix}…). Keel keeps only its hash: store it now, it cannot be shown again.\n`,
  );
}
