import type { DB } from "../../src/db/pool.js";
import { inTransaction } from "../../src/db/tx.js";
import { placeBatch } from "../../src/orders/placement-batch.js";
import type { PlaceOrderBody } from "../../src/orders/schema.js";
import { cpuByGroup } from "../lib.js";

/**
 * Scenario 3b: the database's limit for placement — Keel's batch placement
 * (the same statements POST /v1/orders runs) called in-process, no HTTP, no
 * JSON, no validation: `parallel` batches of `batch` orders at a time. Where
 * scenario 3 falls short of it, the difference is the HTTP side's CPU.
 */
export async function placementCeiling(opts: {
  db: DB;
  body: () => PlaceOrderBody;
  seconds: number;
  batch: number;
  parallel: number;
}): Promise<{ ops: number; cpu: { node: number; postgres: number } }> {
  const run = async (seconds: number) => {
    let done = 0;
    const until = Date.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: opts.parallel }, async () => {
        while (Date.now() < until) {
          const bodies = Array.from({ length: opts.batch }, opts.body);
          const out = await inTransaction(opts.db, (tx) =>
            placeBatch(tx, bodies, { actor: "bench", lock: false }),
          );
          done += out.filter((o) => "placed" in o).length;
        }
      }),
    );
    return done;
  };
  await run(2); // warm-up, as every scenario
  const before = cpuByGroup();
  const started = Date.now();
  const done = await run(opts.seconds);
  const after = cpuByGroup();
  const secs = (Date.now() - started) / 1000;
  return {
    ops: done / secs,
    cpu: {
      node: (after.generator - before.generator) / done,
      postgres: (after.postgres - before.postgres) / done,
    },
  };
}
