import { sql } from "kysely";
import "../db/schema-reports.js";
import type { DB } from "../db/pool.js";
import type { AlertKind } from "../db/schema-reports.js";
import type { Tx } from "../db/tx.js";
import { NotFound } from "../http/errors.js";
import { decodeCursor, isId, page } from "../http/pagination.js";

export interface AlertView {
  id: number;
  kind: AlertKind;
  key: string;
  status: "open" | "resolved";
  evidence: Record<string, unknown>;
  opened_at: string;
  changed_at: string;
  resolved_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
}

interface Row {
  id: number;
  kind: AlertKind;
  key: string;
  status: "open" | "resolved";
  evidence: Record<string, unknown>;
  opened_at: Date;
  changed_at: Date;
  resolved_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
}

const view = (r: Row): AlertView => ({
  ...r,
  opened_at: r.opened_at.toISOString(),
  changed_at: r.changed_at.toISOString(),
  resolved_at: r.resolved_at?.toISOString() ?? null,
  acknowledged_at: r.acknowledged_at?.toISOString() ?? null,
});

/** Alerts newest first, by status and kind. */
export async function listAlerts(
  db: DB,
  q: { status?: "open" | "resolved"; kind?: AlertKind; limit: number; cursor?: string },
) {
  const after = decodeCursor(q.cursor, isId);
  const rows = await sql<Row>`
    select id, kind, key, status, evidence, opened_at, changed_at, resolved_at, acknowledged_at, acknowledged_by
    from alerts
    where true ${q.status ? sql`and status = ${q.status}` : sql``} ${q.kind ? sql`and kind = ${q.kind}` : sql``}
      ${after !== undefined ? sql`and id < ${after}` : sql``}
    order by id desc limit ${q.limit + 1}`.execute(db);
  return page(rows.rows.map(view), q.limit, (last) => last.id);
}

/**
 * Someone has seen the alert and is on it. Acknowledging again keeps the
 * first acknowledgement; an acknowledged alert still resolves by itself.
 */
export async function acknowledgeAlert(tx: Tx, id: number, actor: string): Promise<AlertView> {
  const r = await sql<Row>`
    update alerts set acknowledged_at = coalesce(acknowledged_at, now()), acknowledged_by = coalesce(acknowledged_by, ${actor})
    where id = ${id}
    returning id, kind, key, status, evidence, opened_at, changed_at, resolved_at, acknowledged_at, acknowledged_by`.execute(
    tx,
  );
  if (r.rows.length === 0) throw new NotFound("alert", id);
  return view(r.rows[0]);
}
