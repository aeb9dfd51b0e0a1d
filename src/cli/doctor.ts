import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { checkInvariants, checkLedger, type Drift, type Violation } from "../inventory/audit.js";
import { auditOrderHolds } from "../orders/audit.js";

export interface DoctorReport {
  levels: number;
  movements: number;
  locations: number;
  drifts: Drift[];
  violations: Violation[];
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
      const violations = [...(await checkInvariants(tx)), ...(await holdViolations(tx))];
      return { ...counts.rows[0], drifts, violations };
    });
}

/** What orders and checkouts say they hold must be exactly what the reserved and allocated buckets hold. */
async function holdViolations(db: DB): Promise<Violation[]> {
  const { levels, lines } = await auditOrderHolds(db);
  return [
    ...levels.map((l) => ({
      sku: l.sku,
      location: l.location,
      rule: "holds_differ_from_buckets" as const,
      detail: `reserved ${l.reserved} vs held ${l.held_reserved}, allocated ${l.allocated} vs held ${l.held_allocated}`,
    })),
    ...lines.map((l) => ({
      sku: l.sku,
      location: "-",
      rule: "order_line_unaccounted" as const,
      detail: `order ${l.order} line ${l.line_no}: ${l.quantity} ordered, ${l.accounted} cancelled, backordered, held or shipped`,
    })),
  ];
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
        `(${report.movements} movements); no negative bucket; reserved + allocated within on hand everywhere; ` +
        "order and checkout holds equal the reserved and allocated buckets\n",
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
