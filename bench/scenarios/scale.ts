import { sql } from "kysely";
import type { DB } from "../../src/db/pool.js";

/**
 * Scenario 7's history: `orders` past orders over the last year, generated in
 * bulk SQL in chunks, shaped like what Keel itself writes: lines, shipped
 * allocations, a delivered fulfilment, a payment, timeline rows, and for every
 * shipped line a `sale` movement (with the `receipt` that brought the unit in,
 * so balances stay as they are and the ledger still sums to them).
 */
export async function generateHistory(
  db: DB,
  opts: { orders: number; chunk?: number; onProgress?: (done: number) => void },
): Promise<void> {
  const chunk = opts.chunk ?? 100_000;
  const stock = await sql<{ variant_id: number; location_id: number; price: number; sku: string }>`
    select il.variant_id, il.location_id, v.price, v.sku from inventory_levels il
    join variants v on v.id = il.variant_id join locations l on l.id = il.location_id
    where v.kind = 'physical' and l.kind = 'warehouse' order by il.variant_id, il.location_id`.execute(db);
  const pairs = stock.rows;
  await sql`drop table if exists bench_pairs`.execute(db);
  await sql`create unlogged table bench_pairs (n int primary key, variant_id bigint, location_id bigint, price bigint, sku text)`.execute(
    db,
  );
  await sql`insert into bench_pairs select ordinality::int, v, l, p, s
            from unnest(${pairs.map((p) => p.variant_id)}::bigint[], ${pairs.map((p) => p.location_id)}::bigint[],
                        ${pairs.map((p) => p.price)}::bigint[], ${pairs.map((p) => p.sku)}::text[])
                 with ordinality as x(v, l, p, s)`.execute(db);
  const count = pairs.length;
  for (let start = 1; start <= opts.orders; start += chunk) {
    const end = Math.min(opts.orders, start + chunk - 1);
    await db.transaction().execute(async (tx) => {
      await sql`create temp table h_orders on commit drop as
        select nextval(pg_get_serial_sequence('orders', 'id')) as id,
               nextval(pg_get_serial_sequence('fulfillments', 'id')) as fulfillment_id, g,
               case when g % 97 = 0 then 'cancelled' when g % 41 = 0 then 'shipped' else 'completed' end as status,
               now() - make_interval(days => 1 + (g % 365), secs => (g * 37) % 86400) as placed_at,
               1 + (g % 4) as line_count,
               (select location_id from bench_pairs where n = 1 + ((g::bigint * 7919) % ${count})) as location_id
        from generate_series(${start}::int, ${end}::int) g`.execute(tx);
      await sql`create temp table h_lines on commit drop as
        select o.id as order_id, o.status, o.location_id, o.placed_at, o.fulfillment_id, k as line_no,
               nextval(pg_get_serial_sequence('order_lines', 'id')) as line_id,
               nextval(pg_get_serial_sequence('order_allocations', 'id')) as allocation_id,
               p.variant_id, p.sku, p.price, 1 + ((o.g + k) % 3) as quantity
        from h_orders o cross join lateral generate_series(1, o.line_count) k
        join bench_pairs p on p.n = 1 + ((o.g::bigint * 104729 + k * 7919) % ${count})`.execute(tx);
      await sql`insert into orders (id, channel_id, external_id, status, payment_status, fulfillment_status, currency,
          customer_email, customer_name, shipping_address, subtotal, total, stock_committed_at, placed_at, sla_due_at,
          actor, created_at, updated_at)
        overriding system value
        select o.id, (select id from channels where code = 'manual'), 'hist-' || o.g, o.status,
          case when o.status = 'cancelled' then 'voided' else 'paid' end,
          case o.status when 'completed' then 'delivered' when 'shipped' then 'fulfilled' else 'unfulfilled' end,
          'EUR', 'customer' || (o.g % 200000) || '@example.com', 'Customer ' || (o.g % 200000),
          '{"name": "Customer", "line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}',
          s.total, s.total, o.placed_at, o.placed_at, o.placed_at + interval '48 hours', 'bench:history',
          o.placed_at, o.placed_at + interval '3 days'
        from h_orders o join (select order_id, sum(price * quantity) as total from h_lines group by 1) s
          on s.order_id = o.id`.execute(tx);
      await sql`insert into order_lines (id, order_id, line_no, variant_id, sku, kind, quantity, unit_price, cancelled)
        overriding system value
        select line_id, order_id, line_no, variant_id, sku, 'physical', quantity, price,
               case when status = 'cancelled' then quantity else 0 end
        from h_lines`.execute(tx);
      await sql`insert into order_allocations (id, order_id, line_id, variant_id, location_id, shipped, released, created_at, updated_at)
        overriding system value
        select allocation_id, order_id, line_id, variant_id, location_id,
               case when status = 'cancelled' then 0 else quantity end,
               case when status = 'cancelled' then quantity else 0 end, placed_at, placed_at
        from h_lines`.execute(tx);
      await sql`insert into fulfillments (id, order_id, location_id, status, carrier, tracking_number, actor, created_at,
          updated_at, shipped_at, delivered_at)
        overriding system value
        select fulfillment_id, id, location_id, case status when 'completed' then 'delivered' else 'shipped' end, 'DHL',
               'JD' || g, 'bench:history', placed_at, placed_at + interval '1 day', placed_at + interval '1 day',
               case when status = 'completed' then placed_at + interval '3 days' end
        from h_orders where status <> 'cancelled'`.execute(tx);
      await sql`insert into fulfillment_lines (fulfillment_id, allocation_id, quantity)
        select fulfillment_id, allocation_id, quantity from h_lines where status <> 'cancelled'`.execute(tx);
      await sql`insert into order_payments (order_id, kind, amount, actor, created_at)
        select id, 'paid', total, 'bench:history', placed_at from orders o
        where o.id in (select id from h_orders where status <> 'cancelled')`.execute(tx);
      await sql`insert into order_timeline (order_id, from_status, to_status, action, actor, at)
        select id, null, 'received', 'place', 'bench:history', placed_at from h_orders
        union all
        select id, 'received', status, case status when 'cancelled' then 'cancel' else 'ship' end, 'bench:history',
               placed_at + interval '1 day' from h_orders`.execute(tx);
      await sql`insert into inventory_movements (variant_id, location_id, bucket, delta, reason, reference, actor, created_at)
        select variant_id, location_id, 'on_hand', quantity, 'receipt', 'bench:history', 'bench:history',
               placed_at - interval '1 day' from h_lines where status <> 'cancelled'
        union all
        select variant_id, location_id, 'on_hand', -quantity, 'sale', 'order:' || order_id, 'bench:history',
               placed_at + interval '1 day' from h_lines where status <> 'cancelled'`.execute(tx);
    });
    opts.onProgress?.(end);
  }
  await sql`drop table bench_pairs`.execute(db);
  await sql`analyze`.execute(db);
}
