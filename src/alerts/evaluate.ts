import { sql } from "kysely";
import "../db/schema-reports.js";
import type { DB } from "../db/pool.js";
import type { AlertKind } from "../db/schema-reports.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { CONDITIONS, type Condition, ledgerDrift } from "./conditions.js";
import { anomalies } from "./series.js";

export interface Reconciled {
  opened: number;
  updated: number;
  resolved: number;
}

/**
 * Makes the open alerts of a kind exactly the conditions that hold: a new
 * condition opens an alert, a lasting one keeps its alert (its evidence
 * updated when it changed), an alert whose condition no longer holds is
 * resolved. One open alert per condition is the partial unique index's
 * promise; the caller's transaction holds the evaluator row, so runs in
 * several processes take turns. `alert.opened` and `alert.resolved` events
 * go out in the same transaction (notifications read them).
 */
export async function reconcile(tx: Tx, kind: AlertKind, now: Condition[]): Promise<Reconciled> {
  const keys = now.map((c) => c.key);
  const up = await sql<{ id: number; key: string; inserted: boolean; evidence: unknown; opened_at: Date }>`
    insert into alerts as a (kind, key, evidence)
    select ${kind}, k, e from unnest(${keys}::text[], ${now.map((c) => JSON.stringify(c.evidence))}::jsonb[]) as x(k, e)
    on conflict (kind, key) where status = 'open'
    do update set evidence = excluded.evidence, changed_at = now()
      where a.evidence is distinct from excluded.evidence
    returning a.id, a.key, (xmax = 0) as inserted, a.evidence, a.opened_at`.execute(tx);
  const gone = await sql<{ id: number; key: string; evidence: unknown; opened_at: Date }>`
    update alerts set status = 'resolved', resolved_at = now()
    where kind = ${kind} and status = 'open' and not (key = any(${keys}::text[]))
    returning id, key, evidence, opened_at`.execute(tx);
  const opened = up.rows.filter((r) => r.inserted);
  await emit(tx, [
    ...opened.map((r) => ({
      type: "alert.opened",
      payload: { id: r.id, kind, key: r.key, evidence: r.evidence },
    })),
    ...gone.rows.map((r) => ({
      type: "alert.resolved",
      payload: { id: r.id, kind, key: r.key, evidence: r.evidence, opened_at: r.opened_at },
    })),
  ]);
  return { opened: opened.length, updated: up.rows.length - opened.length, resolved: gone.rows.length };
}

async function run(db: DB, kinds: [AlertKind, (db: DB | Tx) => Promise<Condition[]>][]): Promise<number> {
  return db.transaction().execute(async (tx) => {
    await sql`update alert_evaluations set runs = runs + 1, updated_at = now()`.execute(tx);
    let changes = 0;
    for (const [kind, conditions] of kinds) {
      const r = await reconcile(tx, kind, await conditions(tx));
      changes += r.opened + r.resolved;
    }
    return changes;
  });
}

/** The periodic evaluator: every kind with a cheap condition. Returns how many alerts opened or resolved. */
export async function evaluateAlerts(db: DB): Promise<number> {
  return run(db, Object.entries(CONDITIONS) as [AlertKind, (db: DB | Tx) => Promise<Condition[]>][]);
}

/** The nightly ledger check: drift between balances and their movements becomes `ledger_drift` alerts. */
export async function checkLedgerDrift(db: DB): Promise<number> {
  return run(db, [["ledger_drift", ledgerDrift]]);
}

/** Anomalies on the daily series (series.ts) of `day`, yesterday by default: one open `anomaly` alert per series. */
export async function detectAnomalies(db: DB, day?: string): Promise<number> {
  return run(db, [["anomaly", (tx) => anomalies(tx, day)]]);
}
