import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { decodeCursor, isId, page } from "../http/pagination.js";
import { factsOf, type ReturnLineRow, type ReturnRow, returnIdOf } from "./core.js";
import type { ReturnStatus } from "./tables.js";
import { allowedActions } from "./transitions.js";

export interface ReturnView {
  id: number;
  number: string;
  order_id: number;
  order_number: string;
  status: ReturnStatus;
  location: string | null;
  rejection_reason: string | null;
  note: string | null;
  refunded: number;
  currency: string;
  exchange_order_id: number | null;
  lines: {
    sku: string;
    quantity: number;
    reason: string;
    received: number;
    inspected: number;
    inspections: { quantity: number; condition: string; disposition: string; note: string | null }[];
  }[];
  refunds: { amount: number; reference: string | null; actor: string; at: string }[];
  timeline: {
    from: string | null;
    to: string;
    action: string;
    actor: string;
    reason: string | null;
    at: string;
  }[];
  allowed_actions: string[];
  created_at: string;
  updated_at: string;
}

const iso = (d: Date | string) => new Date(d).toISOString();

export async function getReturnView(db: DB | Tx, key: string | number): Promise<ReturnView> {
  const id = await returnIdOf(db, key);
  const r = (
    await sql<
      ReturnRow & {
        order_number: string;
        location: string | null;
        rejection_reason: string | null;
        note: string | null;
        refunded: number;
        currency: string;
        created_at: Date;
        updated_at: Date;
      }
    >`
      select r.id, r.number, r.order_id, o.number as order_number, r.status, r.location_id, l.code as location,
             r.rejection_reason, r.note, r.refunded, o.currency, r.exchange_order_id, r.created_at, r.updated_at
      from returns r join orders o on o.id = r.order_id left join locations l on l.id = r.location_id
      where r.id = ${id}`.execute(db)
  ).rows[0];
  const lines = await sql<
    ReturnLineRow & { reason: string; inspections: ReturnView["lines"][number]["inspections"] }
  >`
    select rl.id, rl.order_line_id, rl.sku, rl.quantity, rl.reason, rl.received, rl.inspected,
      coalesce((select json_agg(json_build_object('quantity', i.quantity, 'condition', i.condition,
                 'disposition', i.disposition, 'note', i.note) order by i.id)
                from return_inspections i where i.return_line_id = rl.id), '[]') as inspections
    from return_lines rl where rl.return_id = ${id} order by rl.line_no`.execute(db);
  const refunds = await db
    .selectFrom("return_refunds")
    .select(["amount", "reference", "actor", "at"])
    .where("return_id", "=", id)
    .orderBy("id")
    .execute();
  const timeline = await db
    .selectFrom("return_timeline")
    .select(["from_status", "to_status", "action", "actor", "reason", "at"])
    .where("return_id", "=", id)
    .orderBy("id")
    .execute();
  return {
    id: r.id,
    number: r.number,
    order_id: r.order_id,
    order_number: r.order_number,
    status: r.status,
    location: r.location,
    rejection_reason: r.rejection_reason,
    note: r.note,
    refunded: r.refunded,
    currency: r.currency,
    exchange_order_id: r.exchange_order_id,
    lines: lines.rows.map((l) => ({
      sku: l.sku,
      quantity: l.quantity,
      reason: l.reason,
      received: l.received,
      inspected: l.inspected,
      inspections: l.inspections,
    })),
    refunds: refunds.map((f) => ({ ...f, at: iso(f.at) })),
    timeline: timeline.map((t) => ({
      from: t.from_status,
      to: t.to_status,
      action: t.action,
      actor: t.actor,
      reason: t.reason,
      at: iso(t.at),
    })),
    allowed_actions: allowedActions(factsOf(r, lines.rows)),
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

export interface ReturnSummary {
  id: number;
  number: string;
  order_id: number;
  order_number: string;
  status: ReturnStatus;
  units: number;
  refunded: number;
  created_at: string;
}

export async function listReturns(
  db: DB,
  q: { status?: ReturnStatus; order_id?: number; limit: number; cursor?: string },
): Promise<{ data: ReturnSummary[]; next_cursor: string | null }> {
  const before = decodeCursor(q.cursor, isId);
  const rows = await sql<ReturnSummary & { created_at: Date }>`
    select r.id, r.number, r.order_id, o.number as order_number, r.status, r.refunded, r.created_at,
           (select coalesce(sum(quantity), 0)::int from return_lines where return_id = r.id) as units
    from returns r join orders o on o.id = r.order_id
    where true
      ${q.status ? sql`and r.status = ${q.status}` : sql``}
      ${q.order_id ? sql`and r.order_id = ${q.order_id}` : sql``}
      ${before !== undefined ? sql`and r.id < ${before}` : sql``}
    order by r.id desc limit ${q.limit + 1}`.execute(db);
  const p = page(rows.rows, q.limit, (r) => r.id);
  return { next_cursor: p.next_cursor, data: p.data.map((r) => ({ ...r, created_at: iso(r.created_at) })) };
}
