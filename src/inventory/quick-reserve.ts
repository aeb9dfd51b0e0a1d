import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { InsufficientStock } from "../http/errors.js";
import type { ReservationView } from "./reservations.js";

export type { ReservationView };

/**
 * The hot path for the commonest reservation: one line of one physical SKU.
 * Concurrent requests for the same SKU (and location) are coalesced: while
 * one statement for that SKU is in flight, later requests queue, and the queue
 * goes to the database as ONE statement that locks the row once, grants the
 * requests that fit (smallest first, so one that fits is never starved by a
 * larger one), and writes every reservation, ledger row and event. Each
 * request still gets its own reservation, all-or-nothing. Nothing runs
 * outside that statement, so it is its own transaction.
 */

export interface QuickRequest {
  sku: string;
  location?: string;
  quantity: number;
  ttlSeconds: number;
  reference: string | null;
  actor: string;
}

/**
 * Returned when the quick path cannot answer (the SKU is not a plain physical,
 * active variant; the location is unknown; only a split could serve it): the
 * caller takes the general path, which also explains refusals field by field.
 */
export const NOT_QUICK = Symbol("not quick");

interface Pending {
  req: QuickRequest;
  resolve(v: ReservationView | typeof NOT_QUICK): void;
  reject(err: unknown): void;
}

interface BatchRow {
  variant_id: number | null;
  location: string | null;
  location_known: boolean;
  granted: { n: number; id: number; expires_at: string; created_at: string }[];
  available: number;
}

export class QuickReserver {
  /** Statements run and requests answered, for tests and metrics. */
  readonly stats = { statements: 0, requests: 0 };
  private queues = new Map<string, Pending[]>();
  private busy = new Set<string>();

  constructor(
    private db: DB,
    private maxBatch = 500,
  ) {}

  reserve(req: QuickRequest): Promise<ReservationView | typeof NOT_QUICK> {
    const key = `${req.sku}\u0000${req.location ?? ""}`;
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(key);
      if (queue) queue.push({ req, resolve, reject });
      else this.queues.set(key, [{ req, resolve, reject }]);
      if (!this.busy.has(key)) void this.drain(key);
    });
  }

  private async drain(key: string): Promise<void> {
    this.busy.add(key);
    try {
      for (;;) {
        const queue = this.queues.get(key);
        if (!queue || queue.length === 0) {
          this.queues.delete(key);
          return;
        }
        const batch = queue.splice(0, this.maxBatch);
        try {
          const retry = await this.run(batch);
          // requests that did not fit where the others went try again, ahead of newcomers
          if (retry.length) queue.unshift(...retry);
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.busy.delete(key);
    }
  }

  /** One statement for the batch; returns the requests to try again. */
  private async run(batch: Pending[]): Promise<Pending[]> {
    const { sku, location } = batch[0].req;
    this.stats.statements += 1;
    this.stats.requests += batch.length;
    const result = await sql<BatchRow>`
      with req as (
        select * from unnest(${batch.map((p) => p.req.quantity)}::int[], ${batch.map((p) => p.req.ttlSeconds)}::int[],
                             ${batch.map((p) => p.req.reference)}::text[], ${batch.map((p) => p.req.actor)}::text[])
          with ordinality as r(q, ttl, ref, actor, n)
      ),
      item as (
        select v.id from variants v join products p on p.id = v.product_id
        where v.sku = ${sku} and v.kind = 'physical' and p.status = 'active'
      ),
      cand as (
        select il.variant_id, il.location_id, l.code,
               il.on_hand - il.reserved - il.allocated - il.safety_stock as free
        from inventory_levels il join locations l on l.id = il.location_id
        where il.variant_id = (select id from item) and l.active
          ${location ? sql`and l.code = ${location}` : sql``}
          and il.on_hand - il.reserved - il.allocated - il.safety_stock >= (select min(q) from req)
        order by l.priority, l.id
        limit 1
        for update of il
      ),
      take as (
        select r.q, r.ttl, r.ref, r.actor, r.n, nextval(pg_get_serial_sequence('reservations', 'id')) as rid
        from (select r.*, sum(r.q) over (order by r.q, r.n) as running from req r) r, cand
        where r.running <= cand.free
      ),
      up as (
        update inventory_levels il set reserved = il.reserved + (select sum(q) from take), updated_at = now()
        from cand
        where il.variant_id = cand.variant_id and il.location_id = cand.location_id and exists (select 1 from take)
        returning il.variant_id, il.location_id, il.on_hand, il.reserved, il.allocated, il.safety_stock,
                  il.available, il.incoming, il.quarantine, il.damaged, il.return_pending
      ),
      res as (
        insert into reservations (id, reference, actor, expires_at) overriding system value
        select t.rid, t.ref, t.actor, now() + make_interval(secs => t.ttl) from take t
        where exists (select 1 from up) order by t.rid
        returning id, reference, expires_at, created_at
      ),
      lines as (
        insert into reservation_lines (reservation_id, line_no, variant_id, location_id, quantity)
        select t.rid, 1, up.variant_id, up.location_id, t.q from take t, up
      ),
      ledger as (
        insert into inventory_movements (variant_id, location_id, bucket, delta, reason, reference, actor)
        select up.variant_id, up.location_id, 'reserved', t.q, 'reservation', 'reservation:' || t.rid, t.actor
        from take t, up order by t.rid
      ),
      events as (
        insert into outbox_events (type, payload)
        select 'inventory.level_changed', inventory_level_event(up.variant_id, up.location_id, to_jsonb(up)) from up
        union all
        select 'reservation.created', jsonb_build_object(
          'id', r.id, 'status', 'active', 'reference', r.reference, 'expires_at', r.expires_at,
          'created_at', r.created_at,
          'lines', jsonb_build_array(jsonb_build_object('sku', ${sku}::text, 'location', c.code, 'quantity', t.q)))
        from res r join take t on t.rid = r.id cross join cand c
      )
      select (select id from item) as variant_id, (select code from cand) as location,
        ${location ? sql`exists (select 1 from locations where code = ${location})` : sql`true`} as location_known,
        (select coalesce(json_agg(json_build_object('n', t.n, 'id', r.id, 'expires_at', r.expires_at,
                                                    'created_at', r.created_at)), '[]')
           from res r join take t on t.rid = r.id) as granted,
        (select coalesce(sum(greatest(il.on_hand - il.reserved - il.allocated - il.safety_stock, 0)), 0)::int
           from inventory_levels il join locations l on l.id = il.location_id
          where il.variant_id = (select id from item) and l.active
            ${location ? sql`and l.code = ${location}` : sql``}) as available`.execute(this.db);
    const row = result.rows[0];
    if (row.variant_id === null || !row.location_known) {
      for (const p of batch) p.resolve(NOT_QUICK);
      return [];
    }
    const granted = new Map(row.granted.map((g) => [g.n, g]));
    const retry: Pending[] = [];
    batch.forEach((p, i) => {
      const g = granted.get(i + 1);
      if (g) {
        p.resolve({
          id: g.id,
          status: "active",
          reference: p.req.reference,
          expires_at: new Date(g.expires_at).toISOString(),
          created_at: new Date(g.created_at).toISOString(),
          lines: [{ sku, location: row.location, quantity: p.req.quantity }],
        });
      } else if (row.location !== null) {
        retry.push(p); // it did not fit at the location chosen for this batch; another may still serve it
      } else if (!p.req.location && row.available >= p.req.quantity) {
        p.resolve(NOT_QUICK); // no single location can serve it, several together can: the general path splits
      } else {
        p.reject(
          new InsufficientStock([
            { sku, requested: p.req.quantity, available: row.available, location: p.req.location },
          ]),
        );
      }
    });
    return retry;
  }
}
