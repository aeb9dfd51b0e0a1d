import fc from "fast-check";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, location, ok } from "../../test/shop.js";
import { orderBody } from "../orders/testing.js";
import { setTax, unbalancedEntries } from "./testing.js";

/**
 * Random sequences of purchases, sales, shipments, payments, refunds,
 * returns and stock adjustments: every journal entry balances, receivables
 * and tax payable equal what the documents and payments say, the inventory
 * account equals the stock at moving-average cost (to a cent per posting),
 * and a fully shipped order's invoices add up to what it charged.
 */

const SKUS = ["P-RED", "P-BLUE", "P-GREEN"];
let t: TestContext;

interface Placed {
  id: number;
  total: number;
  paid: number;
  refunded: number;
  shipped: boolean;
  delivered: boolean;
  lines: { sku: string; quantity: number }[];
}
const placed: Placed[] = [];

beforeAll(async () => {
  t = await testApp();
  await location(t, "MAIN", 1, "DE");
  for (const [i, sku] of SKUS.entries()) {
    await ok(
      t,
      "POST",
      "/v1/products",
      {
        title: sku,
        kind: "physical",
        status: "active",
        variants: [
          {
            sku,
            price: 2000,
            currency: "EUR",
            cost: 500 + i * 77,
            tax_class: i === 2 ? "reduced" : "standard",
          },
        ],
      },
      201,
    );
    await ok(
      t,
      "POST",
      "/v1/inventory/adjustments",
      { sku, location: "MAIN", set: 30, reason: "initial" },
      201,
    );
  }
  await ok(t, "POST", "/v1/suppliers", { code: "ACME", name: "Acme", lead_time_days: 5 }, 201);
  for (const sku of SKUS) await ok(t, "POST", "/v1/suppliers/ACME/items", { sku, cost: 450 }, 201);
  await setTax(t, {
    prices_include_tax: true,
    rates: [
      { country: "DE", tax_class: "standard", rate_bp: 1900 },
      { country: "DE", tax_class: "reduced", rate_bp: 700 },
    ],
  });
}, 60_000);
afterAll(() => t.close());

const pick = <T>(xs: T[], n: number): T | undefined => (xs.length ? xs[n % xs.length] : undefined);

/** A request that the shop may refuse (409, 422) but never fail on. */
async function attempt(method: "POST" | "PUT", url: string, body?: unknown) {
  const res = await api(t, method as "POST", url, body);
  expect(res.statusCode, `${method} ${url} ${res.body}`).toBeLessThan(500);
  return res;
}

type Cmd =
  | { kind: "purchase"; sku: number; qty: number; cost: number; freight: number }
  | {
      kind: "sell";
      lines: { sku: number; qty: number; price: number }[];
      discount: number;
      shipping: number;
      pay: boolean;
    }
  | { kind: "ship"; n: number; partial: boolean }
  | { kind: "pay"; n: number }
  | { kind: "refund"; n: number; part: number }
  | { kind: "return"; n: number; scrap: boolean }
  | { kind: "adjust"; sku: number; delta: number; reason: string }
  | { kind: "gross"; on: boolean };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({
    kind: fc.constant("purchase" as const),
    sku: fc.nat(2),
    qty: fc.integer({ min: 1, max: 15 }),
    cost: fc.integer({ min: 100, max: 999 }),
    freight: fc.integer({ min: 0, max: 700 }),
  }),
  fc.record({
    kind: fc.constant("sell" as const),
    lines: fc.uniqueArray(
      fc.record({
        sku: fc.nat(2),
        qty: fc.integer({ min: 1, max: 4 }),
        price: fc.integer({ min: 1, max: 5000 }),
      }),
      { minLength: 1, maxLength: 3, selector: (l) => l.sku },
    ),
    discount: fc.integer({ min: 0, max: 500 }),
    shipping: fc.integer({ min: 0, max: 900 }),
    pay: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("ship" as const), n: fc.nat(), partial: fc.boolean() }),
  fc.record({ kind: fc.constant("pay" as const), n: fc.nat() }),
  fc.record({ kind: fc.constant("refund" as const), n: fc.nat(), part: fc.integer({ min: 1, max: 100 }) }),
  fc.record({ kind: fc.constant("return" as const), n: fc.nat(), scrap: fc.boolean() }),
  fc.record({
    kind: fc.constant("adjust" as const),
    sku: fc.nat(2),
    delta: fc.integer({ min: -4, max: 4 }).filter((d) => d !== 0),
    reason: fc.constantFrom("scrap", "shrinkage", "found", "count", "damage"),
  }),
  fc.record({ kind: fc.constant("gross" as const), on: fc.boolean() }),
);

async function run(c: Cmd): Promise<void> {
  switch (c.kind) {
    case "purchase": {
      const po = await ok(t, "POST", "/v1/purchase-orders", {
        supplier: "ACME",
        location: "MAIN",
        lines: [{ sku: SKUS[c.sku], quantity: c.qty, unit_cost: c.cost }],
      });
      await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
      await ok(t, "POST", `/v1/purchase-orders/${po.id}/receipts`, {
        lines: [{ sku: SKUS[c.sku], quantity: c.qty }],
        freight: c.freight,
      });
      return;
    }
    case "sell": {
      const lines = c.lines.map((l) => ({ sku: SKUS[l.sku], quantity: l.qty, unit_price: l.price }));
      const sub = lines.reduce((s, l) => s + l.quantity * l.unit_price, 0);
      const discount = Math.min(c.discount, sub);
      const body = orderBody(lines, { discount_total: discount, shipping_total: c.shipping });
      const res = await attempt("POST", "/v1/orders", body);
      if (res.statusCode === 201) {
        // the order's total: lines − discount + shipping, plus the tax Keel adds when prices are net
        const o = res.json();
        if (c.pay && o.total > 0)
          await ok(t, "POST", `/v1/orders/${o.id}/payments`, { status: "paid", amount: o.total });
        placed.push({
          id: o.id,
          total: o.total,
          paid: c.pay && o.total > 0 ? o.total : 0,
          refunded: 0,
          shipped: false,
          delivered: false,
          lines: lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
        });
      }
      return;
    }
    case "ship": {
      const o = pick(
        placed.filter((p) => !p.shipped),
        c.n,
      );
      if (!o) return;
      const first = o.lines[0];
      const partial = c.partial && first.quantity > 1;
      const f = await attempt(
        "POST",
        `/v1/orders/${o.id}/fulfillments`,
        partial ? { lines: [{ sku: first.sku, quantity: 1 }] } : {},
      );
      if (f.statusCode !== 201) return;
      const id = f.json().id;
      await ok(t, "POST", `/v1/fulfillments/${id}/pick`);
      await ok(t, "POST", `/v1/fulfillments/${id}/pack`);
      await ok(t, "POST", `/v1/fulfillments/${id}/ship`, { carrier: "DHL", tracking_number: `P${id}` });
      const now = await ok(t, "GET", `/v1/orders/${o.id}`);
      if (now.fulfillment_status === "fulfilled") {
        o.shipped = true;
        for (const ff of now.fulfillments) await ok(t, "POST", `/v1/fulfillments/${ff.id}/deliver`);
        o.delivered = true;
      }
      return;
    }
    case "pay": {
      const o = pick(
        placed.filter((p) => p.paid < p.total),
        c.n,
      );
      if (!o) return;
      await ok(t, "POST", `/v1/orders/${o.id}/payments`, { status: "paid", amount: o.total - o.paid });
      o.paid = o.total;
      return;
    }
    case "refund": {
      const o = pick(
        placed.filter((p) => p.paid > p.refunded),
        c.n,
      );
      if (!o) return;
      const amount = Math.max(1, Math.floor(((o.paid - o.refunded) * c.part) / 100));
      await ok(t, "POST", `/v1/orders/${o.id}/payments`, { status: "refunded", amount });
      o.refunded += amount;
      return;
    }
    case "return": {
      const o = pick(
        placed.filter((p) => p.delivered),
        c.n,
      );
      if (!o) return;
      const line = o.lines[0];
      const r = await attempt("POST", "/v1/returns", {
        order_id: o.id,
        lines: [{ sku: line.sku, quantity: 1, reason: "other" }],
      });
      if (r.statusCode !== 201) return; // everything of it came back already
      const id = r.json().id;
      await ok(t, "POST", `/v1/returns/${id}/authorize`);
      await ok(t, "POST", `/v1/returns/${id}/receive`, { lines: [{ sku: line.sku, quantity: 1 }] });
      await ok(t, "POST", `/v1/returns/${id}/inspect`, {
        lines: [
          {
            sku: line.sku,
            quantity: 1,
            condition: c.scrap ? "damaged" : "new",
            disposition: c.scrap ? "scrap" : "restock",
          },
        ],
      });
      return;
    }
    case "adjust": {
      await attempt("POST", "/v1/inventory/adjustments", {
        sku: SKUS[c.sku],
        location: "MAIN",
        delta: c.delta,
        reason: c.reason,
      });
      return;
    }
    case "gross": {
      const cur = await ok(t, "GET", "/v1/settings/tax");
      await setTax(t, { ...cur, prices_include_tax: c.on });
    }
  }
}

async function balance(account: string): Promise<number> {
  const r = await sql<{ b: number }>`
    select coalesce(sum(debit - credit), 0)::bigint as b from journal_lines where account = ${account}`.execute(
    t.db,
  );
  return Number(r.rows[0].b);
}

async function checkBooks() {
  expect(await unbalancedEntries(t)).toEqual([]);
  const docs = (
    await sql<{
      invoiced: number;
      credited: number;
      inv_tax: number;
      cn_tax: number;
      paid: number;
      refunded: number;
    }>`
      select (select coalesce(sum(total), 0) from invoices)::bigint as invoiced,
        (select coalesce(sum(total), 0) from credit_notes)::bigint as credited,
        (select coalesce(sum(tax_total), 0) from invoices)::bigint as inv_tax,
        (select coalesce(sum(tax_total), 0) from credit_notes)::bigint as cn_tax,
        (select coalesce(sum(amount), 0) from order_payments where kind = 'paid')::bigint as paid,
        (select coalesce(sum(amount), 0) from order_payments where kind = 'refunded')::bigint as refunded`.execute(
      t.db,
    )
  ).rows[0];
  expect(await balance("1200")).toBe(docs.invoiced - docs.credited - docs.paid + docs.refunded);
  expect(await balance("2200")).toBe(docs.cn_tax - docs.inv_tax);
  expect(await balance("1100")).toBe(docs.paid - docs.refunded);
  const stock = (
    await sql<{ value: number; postings: number }>`
      select (select coalesce(sum((l.on_hand + l.quarantine + l.damaged) * coalesce(c.avg_cost, v.cost, 0)), 0)
              from inventory_levels l join variants v on v.id = l.variant_id
              left join variant_costs c on c.variant_id = l.variant_id)::float8 as value,
        (select count(*) from journal_lines where account = '1300')::int as postings`.execute(t.db)
  ).rows[0];
  expect(Math.abs((await balance("1300")) - stock.value)).toBeLessThanOrEqual(stock.postings);
  // every credit note within its invoice
  const over = await sql`
    select i.number from invoices i join credit_notes c on c.invoice_id = i.id
    group by i.id having sum(c.total) > i.total or sum(c.tax_total) > i.tax_total`.execute(t.db);
  expect(over.rows).toEqual([]);
  // a fully shipped order's invoices add up to what it charged
  for (const o of placed.filter((p) => p.shipped)) {
    const r = await sql<{
      s: number;
    }>`select coalesce(sum(total), 0)::bigint as s from invoices where order_id = ${o.id}`.execute(t.db);
    expect(Number(r.rows[0].s)).toBe(o.total);
  }
}

describe("the journal on random order, return and purchase sequences", () => {
  it("balances every entry and agrees with the documents and the stock", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 14 }), async (cmds) => {
        for (const c of cmds) await run(c);
        await checkBooks();
      }),
      { numRuns: 20, endOnFailure: true },
    );
    // the sequences did reach the postings they are meant to test
    const kinds = await sql<{ d: string; n: number }>`
      select description as d, count(*)::int as n from (
        select split_part(description, ' ', 1) as description from journal_entries) x group by 1`.execute(
      t.db,
    );
    const seen = new Map(kinds.rows.map((r) => [r.d, r.n]));
    for (const k of ["invoice", "paid", "sale", "receipt"]) expect(seen.get(k) ?? 0, k).toBeGreaterThan(0);
  }, 240_000);
});
