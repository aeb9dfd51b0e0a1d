import { verifyAudit } from "../access/audit.js";
import type { DB } from "../db/pool.js";

/**
 * `keel audit verify`: recomputes the chain (read-only) and exits 1 naming
 * the first row that does not match. Rows the background job has not sealed
 * yet (a few seconds' worth) are counted, not verified.
 */
export async function auditVerifyCommand(db: DB): Promise<number> {
  const result = await verifyAudit(db);
  if (result.ok) {
    process.stdout.write(
      `audit chain intact: ${result.verified} rows verified, ${result.unsealed} not sealed yet\n`,
    );
    return 0;
  }
  const { id, seq, reason } = result.firstBad;
  process.stdout.write(
    `audit chain broken at audit row ${id} (seal ${seq}): ${reason}; ${result.verified} rows before it verified\n`,
  );
  return 1;
}
