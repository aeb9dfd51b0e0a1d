import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { OrderStatus } from "../db/schema.js";
import { inTransaction, type Tx } from "../db/tx.js";
import { InsufficientStock } from "../http/errors.js";
import { cancelOrder } from "./cancellation.js";
import { createChannel, findChannel } from "./channels.js";
import { createFulfilment, fulfilmentAction } from "./fulfilments.js";
import { holdOrder } from "./lifecycle.js";
import { placeOrder } from "./placement.js";
import type { PlaceOrderBody } from "./schema.js";
import { type OrderSettings, readOrderSettings } from "./settings.js";

/**
 * Demo orders in every status, made through the order services on whatever
 * catalogue and stock exist, so the ledger stays exact. Settings are passed
 * per scenario, never stored: the shop's own settings are left alone.
 */

export const DEMO_ACTOR = "seed:demo-orders";

export interface DemoOrdersResult {
  created: number;
  byStatus: Partial<Record<OrderStatus, number>>;
  /** States no order could be made for (e.g. no variant may be backordered). */
  missing: OrderStatus[];
}

interface Candidate {
  sku: string;
  location: string;
  free: number;
  price: number;
}

const CUSTOMERS = [
  ["Mia Keller", "DE", "Berlin", "10115"],
  ["Liam Dubois", "FR", "Lyon", "69001"],
  ["Sofia Rossi", "IT", "Milano", "20121"],
  ["Noah Jansen", "NL", "Utrecht", "3511"],
  ["Emma Novak", "AT", "Wien", "1010"],
  ["Lucas Berg", "SE", "Malmö", "21119"],
] as const;

type Scenario = {
  status: OrderStatus;
  run: (s: Ctx) => Promise<boolean>;
};

interface Ctx {
  db: DB;
  i: number;
  /** Tells this run's channel order ids apart from an earlier run's. */
  run: string;
  settings: OrderSettings;
  pick: (n: number) => Candidate[];
  backorderable: { sku: string; price: number; free: number } | undefined;
}

function body(
  ctx: Ctx,
  lines: { sku: string; quantity: number; price: number }[],
  extra: Partial<PlaceOrderBody> = {},
) {
  const [name, country, city, postal_code] = CUSTOMERS[ctx.i % CUSTOMERS.length];
  const hoursAgo = (ctx.i * 7) % 72;
  return {
    channel: ctx.i % 2 ? "web-store" : "manual",
    external_id: ctx.i % 2 ? `WEB-${ctx.run}-${10_000 + ctx.i}` : undefined,
    currency: "EUR",
    lines: lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unit_price: l.price })),
    customer: { email: `${name.split(" ")[0].toLowerCase()}.${ctx.i}@example.com`, name },
    shipping_address: { name, line1: `Demo Street ${ctx.i + 1}`, city, postal_code, country },
    shipping_total: 495,
    placed_at: new Date(Date.now() - hoursAgo * 3_600_000).toISOString(),
    ...extra,
  } satisfies PlaceOrderBody;
}

const line = (c: Candidate, quantity = 1) => ({ sku: c.sku, quantity, price: c.price });

/** The body with a payment of its whole total. */
function paid(b: PlaceOrderBody): PlaceOrderBody {
  const total = b.lines.reduce((s, l) => s + l.quantity * l.unit_price, 0) + (b.shipping_total ?? 0);
  return { ...b, payment: { status: "paid", amount: total } };
}

async function placed(ctx: Ctx, b: PlaceOrderBody, settings: Partial<OrderSettings> = {}) {
  return inTransaction(ctx.db, async (tx) =>
    placeOrder(tx, b, { actor: DEMO_ACTOR, settings: { ...ctx.settings, ...settings } }),
  );
}

async function inTx<T>(ctx: Ctx, work: (tx: Tx) => Promise<T>): Promise<T> {
  return inTransaction(ctx.db, work);
}

/** Approve (when needed), fulfil what is held at the first location, and walk it as far as `until`. */
async function fulfil(
  ctx: Ctx,
  orderId: number,
  until: "picking" | "shipped" | "delivered",
  lines?: { sku: string; quantity: number }[],
) {
  const o = { actor: DEMO_ACTOR, settings: { ...ctx.settings, complete_on_delivery: true } };
  const f = await inTx(ctx, (tx) => createFulfilment(tx, orderId, { lines }, o));
  await inTx(ctx, (tx) => fulfilmentAction(tx, f.id, "pick", o));
  if (until === "picking") return;
  await inTx(ctx, (tx) => fulfilmentAction(tx, f.id, "pack", o));
  const tracking = `DEMO${String(f.id).padStart(8, "0")}`;
  await inTx(ctx, (tx) =>
    fulfilmentAction(tx, f.id, "ship", { ...o, carrier: "DHL", tracking_number: tracking }),
  );
  if (until === "delivered") await inTx(ctx, (tx) => fulfilmentAction(tx, f.id, "deliver", o));
}

const SCENARIOS: Scenario[] = [
  {
    status: "received",
    run: async (c) => {
      await placed(c, body(c, [line(c.pick(1)[0])]), { auto_approve: false });
      return true;
    },
  },
  {
    status: "on_hold",
    run: async (c) => {
      const [a] = c.pick(1);
      await placed(c, body(c, [line(a, 2)]), { fraud: { ...c.settings.fraud, max_order_value: 100 } });
      return true;
    },
  },
  {
    status: "on_hold",
    run: async (c) => {
      const b = body(c, [line(c.pick(1)[0])]);
      const rules = { "*": ["line1", "city", "postal_code"] as ("line1" | "city" | "postal_code")[] };
      await placed(
        c,
        { ...b, shipping_address: { ...b.shipping_address, postal_code: undefined } },
        { address_rules: rules },
      );
      return true;
    },
  },
  {
    status: "on_hold",
    run: async (c) => {
      const p = await placed(c, body(c, [line(c.pick(1)[0])]));
      const cause = { code: "manual" as const, detail: "customer asked to change the size" };
      await inTx(c, (tx) => holdOrder(tx, p.orderId, cause, { actor: DEMO_ACTOR, settings: c.settings }));
      return true;
    },
  },
  {
    status: "approved",
    run: async (c) => {
      await placed(c, body(c, [line(c.pick(1)[0]), line(c.pick(1)[0])]));
      return true;
    },
  },
  {
    status: "backordered",
    run: async (c) => {
      const b = c.backorderable;
      if (!b) return false;
      await placed(c, body(c, [{ sku: b.sku, quantity: Math.max(0, b.free) + 2, price: b.price }]));
      return true;
    },
  },
  {
    status: "preparing",
    run: async (c) => {
      const p = await placed(c, paid(body(c, [line(c.pick(1)[0])])));
      await fulfil(c, p.orderId, "picking");
      return true;
    },
  },
  {
    status: "partially_shipped",
    run: async (c) => {
      const [a, b] = c.pick(2);
      const p = await placed(c, body(c, [line(a), line(b)]));
      await fulfil(c, p.orderId, "shipped", [{ sku: a.sku, quantity: 1 }]);
      return true;
    },
  },
  {
    status: "shipped",
    run: async (c) => {
      const p = await placed(c, paid(body(c, [line(c.pick(1)[0], 2)])));
      await fulfil(c, p.orderId, "shipped");
      return true;
    },
  },
  {
    status: "completed",
    run: async (c) => {
      const p = await placed(c, body(c, [line(c.pick(1)[0])]));
      await fulfil(c, p.orderId, "delivered");
      return true;
    },
  },
  {
    status: "cancelled",
    run: async (c) => {
      const p = await placed(c, body(c, [line(c.pick(1)[0], 2)]));
      await inTx(c, (tx) =>
        cancelOrder(tx, p.orderId, { reason: "customer cancelled" }, { actor: DEMO_ACTOR }),
      );
      return true;
    },
  },
];

export async function seedDemoOrders(db: DB, opts: { count?: number } = {}): Promise<DemoOrdersResult> {
  const count = Math.max(SCENARIOS.length, opts.count ?? 24);
  const settings = {
    ...(await readOrderSettings(db)),
    auto_approve: true,
    require_payment_for_approval: false,
  };
  await inTransaction(db, async (tx) => {
    if (!(await findChannel(tx, "web-store"))) {
      await createChannel(tx, {
        kind: "manual",
        name: "Web store",
        code: "web-store",
        config: { sla_hours: 24 },
      });
    }
  });
  const candidates = (
    await sql<Candidate>`
      select v.sku, l.code as location, (il.on_hand - il.reserved - il.allocated - il.safety_stock)::int as free, v.price
      from inventory_levels il join variants v on v.id = il.variant_id join products p on p.id = v.product_id
      join locations l on l.id = il.location_id
      where p.status = 'active' and v.kind = 'physical' and l.active
        and il.on_hand - il.reserved - il.allocated - il.safety_stock >= 6
      order by il.on_hand - il.reserved - il.allocated - il.safety_stock desc, v.id limit 60`.execute(db)
  ).rows;
  const result: DemoOrdersResult = { created: 0, byStatus: {}, missing: [] };
  if (candidates.length < 2) {
    result.missing = [...new Set(SCENARIOS.map((s) => s.status))];
    return result;
  }
  const backorderable = (
    await sql<{ sku: string; price: number; free: number }>`
      select v.sku, v.price, coalesce((select sum(greatest(il.on_hand - il.reserved - il.allocated - il.safety_stock, 0))
        from inventory_levels il join locations l on l.id = il.location_id where il.variant_id = v.id and l.active), 0)::int as free
      from variants v join products p on p.id = v.product_id
      where p.status = 'active' and v.kind = 'physical' and v.inventory_policy in ('backorder', 'preorder')
      order by 3, v.id limit 1`.execute(db)
  ).rows[0];
  let next = 0;
  const pick = (n: number) => {
    const out: Candidate[] = [];
    const seen = new Set<string>();
    while (out.length < n && seen.size < candidates.length) {
      const c = candidates[next++ % candidates.length];
      if (seen.has(c.sku)) continue;
      seen.add(c.sku);
      out.push(c);
    }
    return out;
  };
  const run = Date.now().toString(36);
  const made = new Set<OrderStatus>();
  for (let i = 0; i < count; i++) {
    const scenario = SCENARIOS[i % SCENARIOS.length];
    try {
      if (!(await scenario.run({ db, i, run, settings, pick, backorderable }))) continue;
    } catch (err) {
      // stock ran out on a later round: that order is left out, the others still count
      if (err instanceof InsufficientStock) continue;
      throw err;
    }
    made.add(scenario.status);
    result.created += 1;
  }
  result.missing = [...new Set(SCENARIOS.map((s) => s.status))].filter((s) => !made.has(s));
  const counts = await sql<{ status: OrderStatus; n: number }>`
    select status, count(*)::int as n from orders where actor = ${DEMO_ACTOR} group by status`.execute(db);
  result.byStatus = Object.fromEntries(counts.rows.map((r) => [r.status, r.n]));
  return result;
}
