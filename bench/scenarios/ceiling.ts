import pg from "pg";

/**
 * Scenario 1: the machine's limit for a reservation — one SQL statement (the
 * guarded UPDATE feeding the ledger INSERT) straight through `pg` from many
 * clients, no HTTP and no Keel code. Spread over many rows, and on one row.
 */
export async function ceiling(opts: {
  url: string;
  clients: number;
  seconds: number;
  variantIds: number[];
  locationId: number;
}): Promise<{ tps: number; errors: number }> {
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.clients });
  const text = `
    with up as (
      update inventory_levels set reserved = reserved + 1
      where variant_id = $1 and location_id = $2 and on_hand - reserved - allocated - safety_stock >= 1
      returning variant_id, location_id)
    insert into inventory_movements (variant_id, location_id, bucket, delta, reason, reference, actor)
    select variant_id, location_id, 'reserved', 1, 'reservation', 'bench', 'bench' from up`;
  let done = 0;
  let errors = 0;
  const until = Date.now() + opts.seconds * 1000;
  await Promise.all(
    Array.from({ length: opts.clients }, async () => {
      const client = await pool.connect();
      try {
        while (Date.now() < until) {
          const v = opts.variantIds[Math.floor(Math.random() * opts.variantIds.length)];
          try {
            await client.query({ name: "ceiling", text, values: [v, opts.locationId] });
            done += 1;
          } catch {
            errors += 1;
          }
        }
      } finally {
        client.release();
      }
    }),
  );
  await pool.end();
  return { tps: done / opts.seconds, errors };
}
