import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { ORDER_STATUSES, type OrderStatus } from "../db/schema.js";
import { ValidationFailed } from "../http/errors.js";
import { decodeCursor, page } from "../http/pagination.js";
import { OPEN_STATUSES } from "./view.js";

/**
 * The order queue operations work from: filter by status, channel, hold
 * reason or overdue, oldest first (or newest). Each order's SLA due time is
 * its placement time plus its channel's SLA hours; an open order past it is
 * overdue.
 */

export interface QueueQuery {
  status?: string;
  channel?: string;
  hold_reason?: string;
  overdue?: "true" | "false";
  payment_status?: string;
  location?: string;
  sort: "oldest" | "newest";
  limit: number;
  cursor?: string;
}

export interface QueueItem {
  id: number;
  number: string;
  channel: string;
  external_id: string | null;
  status: OrderStatus;
  hold_reasons: { code: string; detail: string }[];
  payment_status: string;
  fulfillment_status: string;
  currency: string;
  total: number;
  customer_email: string;
  placed_at: string;
  sla_due_at: string;
  overdue: boolean;
}

/** [placed_at, id]; placed_at is always written from a JS Date, so milliseconds are exact. */
const isCursor = (v: unknown): v is [string, number] =>
  Array.isArray(v) &&
  v.length === 2 &&
  typeof v[0] === "string" &&
  !Number.isNaN(Date.parse(v[0])) &&
  Number.isInteger(v[1]);

export async function listOrders(
  db: DB,
  q: QueueQuery,
): Promise<{ data: QueueItem[]; next_cursor: string | null }> {
  const statuses = q.status
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = statuses?.find((s) => !(ORDER_STATUSES as readonly string[]).includes(s));
  if (bad) {
    throw new ValidationFailed(
      [{ path: "querystring.status", message: `unknown status ${bad}; one of ${ORDER_STATUSES.join(", ")}` }],
      400,
    );
  }
  const after = decodeCursor(q.cursor, isCursor);
  const newest = q.sort === "newest";
  const open = sql`o.status = any(${OPEN_STATUSES}::text[])`;
  const rows = await sql<QueueItem & { placed_at: Date; sla_due_at: Date }>`
    select o.id, o.number, c.code as channel, o.external_id, o.status, o.hold_reasons, o.payment_status,
      o.fulfillment_status, o.currency, o.total, o.customer_email, o.placed_at, o.sla_due_at,
      (${open} and o.sla_due_at < now()) as overdue
    from orders o join channels c on c.id = o.channel_id
    where true
      ${statuses?.length ? sql`and o.status = any(${statuses}::text[])` : sql``}
      ${q.channel ? sql`and c.code = ${q.channel}` : sql``}
      ${q.hold_reason ? sql`and o.status = 'on_hold' and o.hold_reasons @> ${JSON.stringify([{ code: q.hold_reason }])}::jsonb` : sql``}
      ${q.overdue === "true" ? sql`and ${open} and o.sla_due_at < now()` : sql``}
      ${q.overdue === "false" ? sql`and not (${open} and o.sla_due_at < now())` : sql``}
      ${q.payment_status ? sql`and o.payment_status = ${q.payment_status}` : sql``}
      ${q.location ? sql`and exists (select 1 from order_allocations a join locations l on l.id = a.location_id where a.order_id = o.id and l.code = ${q.location})` : sql``}
      ${after ? (newest ? sql`and (o.placed_at, o.id) < (${after[0]}::timestamptz, ${after[1]})` : sql`and (o.placed_at, o.id) > (${after[0]}::timestamptz, ${after[1]})`) : sql``}
    order by ${newest ? sql`o.placed_at desc, o.id desc` : sql`o.placed_at, o.id`}
    limit ${q.limit + 1}`.execute(db);
  const p = page(rows.rows, q.limit, (r) => [new Date(r.placed_at).toISOString(), r.id]);
  return {
    next_cursor: p.next_cursor,
    data: p.data.map((r) => ({
      ...r,
      hold_reasons: (r.hold_reasons ?? []).map((h) => ({ code: h.code, detail: h.detail })),
      placed_at: new Date(r.placed_at).toISOString(),
      sla_due_at: new Date(r.sla_due_at).toISOString(),
    })),
  };
}
