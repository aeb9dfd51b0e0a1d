import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Bucket } from "../db/schema.js";

/** A balance that the movement ledger does not add up to. */
export interface Drift {
  sku: string;
  location: string;
  bucket: Bucket;
  /** What inventory_levels says. */
  balance: number;
  /** What the sum of inventory_movements says. */
  ledgerSum: number;
}

/** A stock level that breaks a rule the database should already enforce. */
export interface Violation {
  sku: string;
  location: string;
  rule: "negative_bucket" | "committed_exceeds_on_hand";
  detail: string;
}

export interface DoctorReport {
  levels: number;
  movements: number;
  locations: number;
  drifts: Drift[];
  violations: Violation[];
}

/**
 * Recomputes every bucket of every stock level from the movement ledger and
 * returns where the two disagree, ordered by SKU, location and bucket. An
 * empty list means the balances are exactly the sum of their movements.
 * Ledger rows for a variant and location without a level row count against a
 * balance of 0.
 */
export async function checkLedger(db: DB): Promise<Drift[]> {
  const rows = await sql<{
    sku: string;
    location: string;
    bucket: Bucket;
    balance: number;
    ledger_sum: number;
  }>`
    with balance as (
      select l.variant_id, l.location_id, b.bucket, b.qty
      from inventory_levels l
      cross join lateral (values
        ('on_hand', l.on_hand), ('reserved', l.reserved), ('allocated', l.allocated),
        ('safety_stock', l.safety_stock), ('incoming', l.incoming), ('quarantine', l.quarantine),
        ('damaged', l.damaged), ('return_pending', l.return_pending)) as b(bucket, qty)
      where b.qty <> 0
    ), ledger as (
      select variant_id, location_id, bucket, sum(delta) as qty
      from inventory_movements
      group by variant_id, location_id, bucket
      having sum(delta) <> 0
    ), drift as (
      select coalesce(b.variant_id, g.variant_id) as variant_id,
             coalesce(b.location_id, g.location_id) as location_id,
             coalesce(b.bucket, g.bucket) as bucket,
             coalesce(b.qty, 0)::bigint as balance,
             coalesce(g.qty, 0)::bigint as ledger_sum
      from balance b
      full join ledger g
        on g.variant_id = b.variant_id and g.location_id = b.location_id and g.bucket = b.bucket
      where coalesce(b.qty, 0) <> coalesce(g.qty, 0)
    )
    select v.sku, loc.code as location, d.bucket, d.balance, d.ledger_sum
    from drift d
    join variants v on v.id = d.variant_id
    join locations loc on loc.id = d.location_id
    order by v.sku, loc.code, d.bucket`.execute(db);
  return rows.rows.map((r) => ({
    sku: r.sku,
    location: r.location,
    bucket: r.bucket,
    balance: Number(r.balance),
    ledgerSum: Number(r.ledger_sum),
  }));
}

/**
 * Stock levels with a negative bucket or with more reserved + allocated than
 * on hand. The CHECK constraints forbid both; this catches a constraint that
 * was dropped or never validated.
 */
export async function checkInvariants(db: DB): Promise<Violation[]> {
  const rows = await sql<{
    sku: string;
    location: string;
    on_hand: number;
    reserved: number;
    allocated: number;
    negative: string | null;
  }>`
    select v.sku, loc.code as location, l.on_hand, l.reserved, l.allocated,
      nullif(concat_ws(', ',
        case when l.on_hand < 0 then 'on_hand ' || l.on_hand end,
        case when l.reserved < 0 then 'reserved ' || l.reserved end,
        case when l.allocated < 0 then 'allocated ' || l.allocated end,
        case when l.safety_stock < 0 then 'safety_stock ' || l.safety_stock end,
        case when l.incoming < 0 then 'incoming ' || l.incoming end,
        case when l.quarantine < 0 then 'quarantine ' || l.quarantine end,
        case when l.damaged < 0 then 'damaged ' || l.damaged end,
        case when l.return_pending < 0 then 'return_pending ' || l.return_pending end), '') as negative
    from inventory_levels l
    join variants v on v.id = l.variant_id
    join locations loc on loc.id = l.location_id
    where least(l.on_hand, l.reserved, l.allocated, l.safety_stock, l.incoming, l.quarantine, l.damaged,
                l.return_pending) < 0
       or l.on_hand < l.reserved + l.allocated
    order by v.sku, loc.code`.execute(db);
  const violations: Violation[] = [];
  for (const r of rows.rows) {
    if (r.negative) {
      violations.push({ sku: r.sku, location: r.location, rule: "negative_bucket", detail: r.negative });
    }
    if (r.on_hand < r.reserved + r.allocated) {
      violations.push({
        sku: r.sku,
        location: r.location,
        rule: "committed_exceeds_on_hand",
        detail: `reserved ${r.reserved} + allocated ${r.allocated} > on_hand ${r.on_hand}`,
      });
    }
  }
  return violations;
}

/** Both checks in one snapshot, with counts of what was looked at. */
export async function runDoctor(db: DB): Promise<DoctorReport> {
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .setAccessMode("read only")
    .execute(async (tx) => {
      const counts = await sql<{ levels: number; movements: number; locations: number }>`
        select (select count(*) from inventory_levels)::int as levels,
               (select count(*) from inventory_movements)::int as movements,
               (select count(*) from locations)::int as locations`.execute(tx);
      const drifts = await checkLedger(tx);
      const violations = await checkInvariants(tx);
      return { ...counts.rows[0], drifts, violations };
    });
}

/** Renders rows as a plain left-aligned text table with a header line. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (typeof rows[0]?.[i] === "number" ? c.padStart(widths[i]) : c.padEnd(widths[i])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** `keel doctor`: prints the report; returns the exit code (1 when anything is wrong). */
export async function doctorCommand(db: DB, opts: { json?: boolean }): Promise<number> {
  const report = await runDoctor(db);
  const ok = report.drifts.length === 0 && report.violations.length === 0;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ok, ...report }, null, 2)}\n`);
    return ok ? 0 : 1;
  }
  if (ok) {
    process.stdout.write(
      `OK: ${report.levels} stock levels at ${report.locations} locations match the ledger ` +
        `(${report.movements} movements); no negative bucket; reserved + allocated within on hand everywhere\n`,
    );
    return 0;
  }
  if (report.drifts.length > 0) {
    process.stdout.write(
      `${table(
        ["SKU", "LOCATION", "BUCKET", "BALANCE", "LEDGER SUM"],
        report.drifts.map((d) => [d.sku, d.location, d.bucket, d.balance, d.ledgerSum]),
      )}\n`,
    );
  }
  if (report.violations.length > 0) {
    if (report.drifts.length > 0) process.stdout.write("\n");
    process.stdout.write(
      `${table(
        ["SKU", "LOCATION", "RULE", "DETAIL"],
        report.violations.map((v) => [v.sku, v.location, v.rule, v.detail]),
      )}\n`,
    );
  }
  process.stderr.write(
    `keel doctor: ${report.drifts.length} balance(s) differ from the ledger, ` +
      `${report.violations.length} stock rule violation(s), among ${report.levels} stock levels\n`,
  );
  return 1;
}
