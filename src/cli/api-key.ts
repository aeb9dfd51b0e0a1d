import type { DB } from "../db/pool.js";
import { createApiKey } from "../http/auth.js";

/** `keel api-key create --name N`: the key on stdout, once; only its hash is stored. */
export async function createApiKeyCommand(db: DB, name: string): Promise<void> {
  const { key, prefix } = await createApiKey(db, name);
  process.stdout.write(`API key: ${key}\n`);
  process.stderr.write(
    `Created API key "${name}" (${prefix}…). Keel keeps only its hash: store it now, it cannot be shown again.\n`,
  );
}
