import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { InsufficientStock } from "../http/errors.js";
import { batchSize } from "../http/metrics.js";
import type { ReservationView } from "./reservations.js";
import { levelEvents } from "./stock.js";

export type { ReservationView };

/**
 * The hot path for the commonest reservation: one line of one physical SKU.
 * Requests are coalesced like a database's group commit: while two
 * statements are in flight, new requests queue, and the whole queue goes to
 * the database as ONE statement. That statement picks each SKU's location
 * (by priority, with enough free units), locks the chosen rows in (variant,
 * location) order — the order every stock change uses, so it cannot deadlock
 * — grants per row the requests that fit the free units read under the lock
 * (smallest first, so one that fits is never starved by a larger one), and
 * writes every reservation, ledger row and event. Each request still gets its
 * own reservation, all-or-nothing; a hot SKU's row is locked once per batch
 * instead of once per buyer. Nothing runs outside that statement, so it is
 * its own transaction.
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
  attempts: number;
  resolve(v: ReservationView | typeof NOT_QUICK): void;
  reject(err: unknown): void;
}

interface Outcome {
  n: number;
  known: boolean;
  location_known: boolean;
  location: string | null;
  id: number | null;
  expires_at: string | null;
  created_at: string | null;
  /** Only for a request that got nothing. */
  available: number | null;
}

/** A request that found a location but did not fit there is tried again this often, then goes the general way. */
const MAX_ATTEMPTS = 5;

export class QuickReserver {
  /** Statements run and requests answered, for tests and metrics. */
  readonly stats = { statements: 0, requests: 0 };
  private queue: Pending[] = [];
  private inFlight = 0;

  /**
   * Two statements in flight (one running, the next one's batch forming) gave
   * the most reservations per second on the 2-core bench machine: 3,900–4,000/s
   * against 3,170 with four and 3,390 with three (docs/benchmarks.md), since
   * larger batches spend less per reservation on each statement.
   */
  constructor(
    private db: DB,
    private maxInFlight = 2,
    private maxBatch = 500,
  ) {}

  reserve(req: QuickRequest): Promise<ReservationView | typeof NOT_QUICK> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req, attempts: 0, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight += 1;
      this.run(batch)
        .then((retry) => {
          if (retry.length) this.queue.unshift(...retry);
        })
        .catch((err) => {
          for (const p of batch) p.reject(err);
        })
        .finally(() => {
          this.inFlight -= 1;
          this.pump();
        });
    }
  }

  /** One statement for the batch; returns the requests to try again. */
  private async run(batch: Pending[]): Promise<Pending[]> {
    this.stats.statements += 1;
    this.stats.requests += batch.length;
    batchSize.observe({ kind: "reservations" }, batch.length);
    const r = batch.map((p) => p.req);
    const result = await sql<Outcome>`
      with req as (
        select * from unnest(${r.map((x) => x.sku)}::text[], ${r.map((x) => x.location ?? null)}::text[],
                             ${r.map((x) => x.quantity)}::int[], ${r.map((x) => x.ttlSeconds)}::int[],
                             ${r.map((x) => x.reference)}::text[], ${r.map((x) => x.actor)}::text[])
          with ordinality as r(sku, loc, q, ttl, ref, actor, n)
      ),
      item as (
        select distinct r.sku, v.id as variant_id
        from req r join variants v on v.sku = r.sku join products p on p.id = v.product_id
        where v.kind = 'physical' and p.status = 'active'
      ),
      grp as (select sku, loc, min(q) as minq from req group by sku, loc),
      pick as (
        select g.sku, g.loc, c.variant_id, c.location_id, c.code
        from grp g join item i on i.sku = g.sku
        cross join lateral (
          select il.variant_id, il.location_id, l.code
          from inventory_levels il join locations l on l.id = il.location_id
          where il.variant_id = i.variant_id and l.active and (g.loc is null or l.code = g.loc)
            and il.on_hand - il.reserved - il.allocated - il.safety_stock >= g.minq
          order by l.priority, l.id limit 1) c
      ),
      locked as materialized (
        select il.variant_id, il.location_id, il.on_hand - il.reserved - il.allocated - il.safety_stock as free
        from inventory_levels il
        where (il.variant_id, il.location_id) in (select variant_id, location_id from pick)
        order by il.variant_id, il.location_id
        for update
      ),
      assigned as (
        select r.*, p.variant_id, p.location_id, p.code, k.free,
               sum(r.q) over (partition by p.variant_id, p.location_id order by r.q, r.n) as running
        from req r join pick p on p.sku = r.sku and p.loc is not distinct from r.loc
        join locked k on k.variant_id = p.variant_id and k.location_id = p.location_id
      ),
      take as (
        select a.*, nextval(pg_get_serial_sequence('reservations', 'id')) as rid
        from assigned a where a.running <= a.free
      ),
      up as (
        update inventory_levels il set reserved = il.reserved + t.total, updated_at = now()
        from (select variant_id, location_id, sum(q)::int as total from take group by 1, 2) t
        where il.variant_id = t.variant_id and il.location_id = t.location_id
        returning il.variant_id, il.location_id, il.on_hand, il.reserved, il.allocated, il.safety_stock,
                  il.available, il.incoming, il.quarantine, il.damaged, il.return_pending
      ),
      res as (
        insert into reservations (id, reference, actor, expires_at) overriding system value
        select t.rid, t.ref, t.actor, now() + make_interval(secs => t.ttl) from take t order by t.rid
        returning id, reference, expires_at, created_at
      ),
      lines as (
        insert into reservation_lines (reservation_id, line_no, variant_id, location_id, quantity)
        select t.rid, 1, t.variant_id, t.location_id, t.q from take t
      ),
      ledger as (
        insert into inventory_movements (variant_id, location_id, bucket, delta, reason, reference, actor)
        select t.variant_id, t.location_id, 'reserved', t.q, 'reservation', 'reservation:' || t.rid, t.actor
        from take t order by t.rid
      ),
      events as (
        insert into outbox_events (type, payload)
        (${levelEvents("up")})
        union all
        select 'reservation.created', jsonb_build_object(
          'id', s.id, 'status', 'active', 'reference', s.reference, 'expires_at', s.expires_at,
          'created_at', s.created_at,
          'lines', jsonb_build_array(jsonb_build_object('sku', t.sku, 'location', t.code, 'quantity', t.q)))
        from res s join take t on t.rid = s.id
      )
      select r.n::int, i.variant_id is not null as known,
        (r.loc is null or exists (select 1 from locations where code = r.loc)) as location_known,
        p.code as location, s.id, s.expires_at, s.created_at,
        -- what is available only matters to a request that got nothing
        case when t.rid is null then
          (select coalesce(sum(greatest(il.on_hand - il.reserved - il.allocated - il.safety_stock, 0)), 0)::int
             from inventory_levels il join locations l on l.id = il.location_id
            where il.variant_id = i.variant_id and l.active and (r.loc is null or l.code = r.loc))
        end as available
      from req r
      left join item i on i.sku = r.sku
      left join pick p on p.sku = r.sku and p.loc is not distinct from r.loc
      left join take t on t.n = r.n
      left join res s on s.id = t.rid
      order by r.n`.execute(this.db);

    const retry: Pending[] = [];
    for (const o of result.rows) {
      const p = batch[o.n - 1];
      if (!o.known || !o.location_known) {
        p.resolve(NOT_QUICK);
      } else if (o.id !== null) {
        p.resolve({
          id: o.id,
          status: "active",
          reference: p.req.reference,
          expires_at: new Date(o.expires_at as string).toISOString(),
          created_at: new Date(o.created_at as string).toISOString(),
          lines: [{ sku: p.req.sku, location: o.location, quantity: p.req.quantity }],
        });
      } else if (o.location !== null) {
        // it did not fit at the location picked for it (others took the units first): try again
        p.attempts += 1;
        if (p.attempts < MAX_ATTEMPTS) retry.push(p);
        else p.resolve(NOT_QUICK);
      } else if (!p.req.location && (o.available ?? 0) >= p.req.quantity) {
        p.resolve(NOT_QUICK); // no single location can serve it, several together can: the general path splits
      } else {
        p.reject(
          new InsufficientStock([
            {
              sku: p.req.sku,
              requested: p.req.quantity,
              available: o.available ?? 0,
              location: p.req.location,
            },
          ]),
        );
      }
    }
    return retry;
  }
}
