import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, location, ok, stock } from "../../test/shop.js";
import { orderBody, place } from "../orders/testing.js";
import type { CreditNoteView } from "./credit-notes.js";
import type { JournalRow } from "./journal.js";
import { invoicesOf, setTax, ship, unbalancedEntries } from "./testing.js";

let t: TestContext;
const RATES = [
  { country: "DE", tax_class: "standard", rate_bp: 1900 },
  { country: "DE", tax_class: "reduced", rate_bp: 700 },
];

async function taxedProduct(sku: string, taxClass: string, cost: number) {
  await ok(
    t,
    "POST",
    "/v1/products",
    {
      title: sku,
      kind: "physical",
      status: "active",
      variants: [{ sku, price: 1000, currency: "EUR", cost, tax_class: taxClass }],
    },
    201,
  );
}

beforeAll(async () => {
  t = await testApp();
  await location(t, "MAIN", 1, "DE");
  await taxedProduct("SHIRT", "standard", 400);
  await taxedProduct("BOOK", "reduced", 300);
  await stock(t, "SHIRT", "MAIN", 100);
  await stock(t, "BOOK", "MAIN", 100);
});
afterAll(() => t.close());
afterEach(async () => expect(await unbalancedEntries(t)).toEqual([]));

describe("tax settings", () => {
  it("stores and returns the rates; variants carry their tax class", async () => {
    expect(await setTax(t, { prices_include_tax: true, rates: RATES })).toEqual({
      prices_include_tax: true,
      rates: RATES,
    });
    expect(await ok(t, "GET", "/v1/settings/tax")).toEqual({ prices_include_tax: true, rates: RATES });
    expect((await ok(t, "GET", "/v1/variants/BOOK")).tax_class).toBe("reduced");
  });

  it("refuses negative, absurd and duplicate rates with 422 and changes nothing", async () => {
    for (const rates of [
      [{ country: "DE", tax_class: "standard", rate_bp: -1 }],
      [{ country: "DE", tax_class: "standard", rate_bp: 9000 }],
      [{ country: "DE", tax_class: "standard", rate_bp: 19.5 }],
      [RATES[0], { ...RATES[0], rate_bp: 700 }],
    ]) {
      const res = await api(t, "PUT" as "POST", "/v1/settings/tax", { prices_include_tax: false, rates });
      expect(res.statusCode).toBe(422);
      expect(res.json().code).toBe("validation_failed");
    }
    const lower = await api(t, "PUT" as "POST", "/v1/settings/tax", {
      prices_include_tax: false,
      rates: [{ country: "de", tax_class: "standard", rate_bp: 1900 }],
    });
    expect(lower.statusCode).toBe(400);
    expect(await ok(t, "GET", "/v1/settings/tax")).toEqual({ prices_include_tax: true, rates: RATES });
  });
});

describe("invoices per shipment", () => {
  it("gross prices, a discount, shipping, two rates, three partial shipments: the invoices add up to the order", async () => {
    await setTax(t, { prices_include_tax: true, rates: RATES });
    const o = await place(
      t,
      orderBody(
        [
          { sku: "SHIRT", quantity: 3, unit_price: 1999 },
          { sku: "BOOK", quantity: 2, unit_price: 1295 },
        ],
        { shipping_total: 495, discount_total: 333 },
      ),
    );
    expect(o.total).toBe(3 * 1999 + 2 * 1295 + 495 - 333);
    await ship(t, o.id, [{ sku: "SHIRT", quantity: 1 }]);
    await ship(t, o.id, [
      { sku: "SHIRT", quantity: 1 },
      { sku: "BOOK", quantity: 1 },
    ]);
    await ship(t, o.id);
    const invoices = await invoicesOf(t, o.id);
    expect(invoices).toHaveLength(3);
    const seqs = invoices.map((i) => Number(i.number.slice(-6)));
    expect(seqs).toEqual([seqs[0], seqs[0] + 1, seqs[0] + 2]);
    expect(invoices[0].number).toMatch(new RegExp(`^INV-${new Date().getUTCFullYear()}-\\d{6}$`));
    // shipping on the first invoice only
    expect(invoices.map((i) => i.lines.filter((l) => l.kind === "shipping").length)).toEqual([1, 0, 0]);
    const sum = (k: "total" | "discount_total") => invoices.reduce((s, i) => s + i[k], 0);
    expect(sum("total")).toBe(o.total);
    expect(sum("discount_total")).toBe(333);
    for (const inv of invoices) {
      expect(inv.total).toBe(inv.net_total + inv.tax_total);
      expect(inv.lines.reduce((s, l) => s + l.total, 0)).toBe(inv.total);
      expect(inv.taxes.reduce((s, x) => s + x.tax, 0)).toBe(inv.tax_total);
      for (const l of inv.lines) expect(l.amount - l.discount).toBe(l.total); // gross
    }
    // the whole order's tax, line by line: discount spread by value, tax extracted half up
    const units = invoices.flatMap((i) => i.lines);
    const byRate = (bp: number) => units.filter((l) => l.rate_bp === bp).reduce((s, l) => s + l.tax, 0);
    const gross = [5997, 2590, 495];
    const disc = [0, 0, 0];
    // largest remainder of 333 over 5997 : 2590 : 495
    const exact = gross.map((g) => (333 * g) / 9082);
    exact.forEach((e, i) => {
      disc[i] = Math.floor(e);
    });
    let left = 333 - disc.reduce((a, b) => a + b, 0);
    for (const i of exact
      .map((e, i) => ({ i, f: e - Math.floor(e) }))
      .sort((a, b) => b.f - a.f)
      .map((x) => x.i)) {
      if (left-- > 0) disc[i] += 1;
    }
    const extract = (g: number, bp: number) =>
      g - Math.floor((2 * g * 10000 + 10000 + bp) / (2 * (10000 + bp)));
    expect(byRate(1900)).toBe(extract(gross[0] - disc[0], 1900) + extract(gross[2] - disc[2], 1900));
    expect(byRate(700)).toBe(extract(gross[1] - disc[1], 700));
    // quantities invoiced = quantities shipped
    expect(units.filter((l) => l.sku === "SHIRT").map((l) => l.quantity)).toEqual([1, 1, 1]);
    expect(units.filter((l) => l.sku === "BOOK").map((l) => l.quantity)).toEqual([1, 1]);
  });

  it("keeps the tax an order brought with it (a channel's tax lines), spread by the shop's rates", async () => {
    await setTax(t, { prices_include_tax: false, rates: RATES });
    const o = await place(
      t,
      orderBody(
        [
          { sku: "SHIRT", quantity: 2, unit_price: 1000 },
          { sku: "BOOK", quantity: 1, unit_price: 1000 },
        ],
        { shipping_total: 500, tax_total: 545 },
      ),
    );
    await ship(t, o.id, [{ sku: "SHIRT", quantity: 1 }]);
    await ship(t, o.id);
    const invoices = await invoicesOf(t, o.id);
    expect(invoices.map((i) => i.tax_source)).toEqual(["order", "order"]);
    expect(invoices.reduce((s, i) => s + i.tax_total, 0)).toBe(545);
    expect(invoices.reduce((s, i) => s + i.total, 0)).toBe(o.total);
    const lines = invoices.flatMap((i) => i.lines);
    // 19 % of 2000 + 19 % of 500 + 7 % of 1000 = 380 + 95 + 70 = 545: the channel's tax is exactly the rates'
    expect(lines.filter((l) => l.sku === "SHIRT").reduce((s, l) => s + l.tax, 0)).toBe(380);
    expect(lines.find((l) => l.kind === "shipping")?.tax).toBe(95);
    expect(lines.find((l) => l.sku === "BOOK")?.tax).toBe(70);
  });

  it("net prices and no tax from the order: Keel adds the tax at placement, line by line, half up", async () => {
    await setTax(t, { prices_include_tax: false, rates: RATES });
    const o = await place(
      t,
      orderBody(
        [
          { sku: "SHIRT", quantity: 3, unit_price: 333 },
          { sku: "BOOK", quantity: 1, unit_price: 1005 },
        ],
        { shipping_total: 499, discount_total: 100 },
      ),
    );
    // discount 100 over 999 : 1005 : 499 by largest remainder = 40 : 40 : 20
    // tax: 19 % of 959 = 182.21 → 182; 7 % of 965 = 67.55 → 68; 19 % of 479 = 91.01 → 91
    expect(o.tax_total).toBe(182 + 68 + 91);
    expect(o.total).toBe(999 + 1005 + 499 - 100 + 341);
    await ship(t, o.id, [{ sku: "SHIRT", quantity: 2 }]);
    await ship(t, o.id);
    const invoices = await invoicesOf(t, o.id);
    expect(invoices.reduce((s, i) => s + i.total, 0)).toBe(o.total);
    const lines = invoices.flatMap((i) => i.lines);
    expect(lines.filter((l) => l.sku === "SHIRT").map((l) => l.tax)).toEqual([121, 61]);
    expect(lines.find((l) => l.sku === "BOOK")?.tax).toBe(68);
    expect(lines.find((l) => l.kind === "shipping")?.tax).toBe(91);
    // an order that says its tax is 0 (an export, a reverse charge) keeps 0
    const zero = await place(
      t,
      orderBody([{ sku: "BOOK", quantity: 1, unit_price: 1000 }], { tax_total: 0 }),
    );
    expect(zero).toMatchObject({ tax_total: 0, total: 1000 });
  });

  it("puts digital lines, which never ship, on the first invoice with the shipping", async () => {
    await ok(
      t,
      "POST",
      "/v1/products",
      {
        title: "Guide",
        kind: "digital",
        status: "active",
        variants: [{ sku: "GUIDE", price: 500, currency: "EUR", tax_class: "reduced" }],
      },
      201,
    );
    await setTax(t, { prices_include_tax: true, rates: RATES });
    const o = await place(
      t,
      orderBody(
        [
          { sku: "SHIRT", quantity: 2, unit_price: 1190 },
          { sku: "GUIDE", quantity: 1, unit_price: 535 },
        ],
        { shipping_total: 300 },
      ),
    );
    await ship(t, o.id, [{ sku: "SHIRT", quantity: 1 }]);
    await ship(t, o.id);
    const invoices = await invoicesOf(t, o.id);
    expect(invoices.map((i) => i.lines.map((l) => l.sku ?? l.kind))).toEqual([
      ["SHIRT", "GUIDE", "shipping"],
      ["SHIRT"],
    ]);
    expect(invoices.reduce((s, i) => s + i.total, 0)).toBe(o.total);
    expect(invoices[0].lines[1]).toMatchObject({ rate_bp: 700, tax: 35, total: 535 });
  });

  it("serves JSON and PDF; an issued invoice cannot be changed or deleted", async () => {
    await setTax(t, { prices_include_tax: true, rates: RATES });
    await ok(t, "PUT" as "POST", "/v1/settings/finance", {
      seller: { name: "Keel Test GmbH", address: ["Hafenstr. 1", "20457 Hamburg"], vat_id: "DE123456789" },
    });
    const o = await place(t, orderBody([{ sku: "SHIRT", quantity: 1, unit_price: 2500 }]));
    await ship(t, o.id);
    const [inv] = await invoicesOf(t, o.id);
    expect(inv.seller.name).toBe("Keel Test GmbH");
    const json = await ok(t, "GET", `/v1/invoices/${inv.number}`);
    expect(json).toMatchObject({ number: inv.number, order_id: o.id, total: 2500 });
    const pdf = await t.app.inject({
      method: "GET",
      url: `/v1/invoices/${inv.number}`,
      headers: { ...t.auth, accept: "application/pdf" },
    });
    expect(pdf.statusCode).toBe(200);
    expect(pdf.headers["content-type"]).toContain("application/pdf");
    expect(pdf.rawPayload.subarray(0, 5).toString()).toBe("%PDF-");
    expect((await api(t, "GET", "/v1/invoices/INV-2026-999999")).statusCode).toBe(404);
    await expect(
      t.db
        .updateTable("invoices" as never)
        .set({ total: 1 } as never)
        .execute(),
    ).rejects.toThrow(/immutable/);
    await expect(t.db.deleteFrom("invoices" as never).execute()).rejects.toThrow(/immutable/);
  });
});

describe("credit notes", () => {
  it("a refund is credited against the invoices, never above them", async () => {
    await setTax(t, { prices_include_tax: true, rates: RATES });
    const o = await place(
      t,
      orderBody(
        [
          { sku: "SHIRT", quantity: 2, unit_price: 1190 },
          { sku: "BOOK", quantity: 1, unit_price: 1070 },
        ],
        { payment: { status: "paid", amount: 3450 } },
      ),
    );
    await ship(t, o.id, [{ sku: "SHIRT", quantity: 2 }]);
    await ship(t, o.id);
    const invoices = await invoicesOf(t, o.id);
    expect(invoices.map((i) => i.total)).toEqual([2380, 1070]);
    // 1500 back: 1070 against the newest invoice, 430 against the first
    await ok(t, "POST", `/v1/orders/${o.id}/payments`, { status: "refunded", amount: 1500 });
    let notes = (await ok<{ data: CreditNoteView[] }>(t, "GET", `/v1/credit-notes?order_id=${o.id}`)).data;
    expect(notes.map((n) => [n.invoice, n.total])).toEqual([
      [invoices[1].number, 1070],
      [invoices[0].number, 430],
    ]);
    expect(notes[0].tax_total).toBe(invoices[1].tax_total);
    for (const n of notes) expect(n.total).toBe(n.net_total + n.tax_total);
    await ok(t, "POST", `/v1/orders/${o.id}/payments`, { status: "refunded", amount: 1950 });
    notes = (await ok<{ data: CreditNoteView[] }>(t, "GET", `/v1/credit-notes?order_id=${o.id}`)).data;
    const credited = (n: string) => notes.filter((x) => x.invoice === n).reduce((s, x) => s + x.total, 0);
    expect(credited(invoices[0].number)).toBe(2380);
    expect(credited(invoices[1].number)).toBe(1070);
    const taxCredited = notes.reduce((s, x) => s + x.tax_total, 0);
    expect(taxCredited).toBe(invoices[0].tax_total + invoices[1].tax_total);
    expect((await ok(t, "GET", `/v1/invoices/${invoices[0].number}`)).credited).toBe(2380);
    // the database refuses a credit note above its invoice
    const ids = await t.db
      .selectFrom("order_payments")
      .select("id")
      .where("order_id", "=", o.id)
      .where("kind", "=", "refunded")
      .executeTakeFirstOrThrow();
    await expect(
      t.db
        .insertInto("credit_notes" as never)
        .values({
          number: "CN-X",
          year: 2026,
          seq: 999999,
          order_id: o.id,
          invoice_id: invoices[0].id,
          payment_id: ids.id,
          currency: "EUR",
          net_total: 1,
          tax_total: 0,
          total: 1,
        } as never)
        .execute(),
    ).rejects.toThrow(/exceeds invoice/);
  });
});

describe("journal", () => {
  it("posts invoice, payment, COGS and refund entries that balance; CSV export", async () => {
    const before = (await ok(t, "GET", "/v1/journal?limit=5000")).data.length;
    await setTax(t, { prices_include_tax: true, rates: RATES });
    const o = await place(
      t,
      orderBody([{ sku: "SHIRT", quantity: 2, unit_price: 1190 }], {
        payment: { status: "paid", amount: 2380 },
      }),
    );
    await ship(t, o.id);
    const [inv] = await invoicesOf(t, o.id);
    const rows = (await ok<{ data: JournalRow[] }>(t, "GET", "/v1/journal?limit=5000")).data.slice(before);
    const entry = (type: string) =>
      rows.filter((r) => r.source_type === type).map((r) => [r.account, r.debit, r.credit]);
    expect(entry("payment")).toEqual([
      ["1100", 2380, 0],
      ["1200", 0, 2380],
    ]);
    expect(entry("invoice")).toEqual([
      ["1200", 2380, 0],
      ["4000", 0, 2000],
      ["2200", 0, 380],
    ]);
    expect(inv.tax_total).toBe(380);
    // COGS at the catalogue cost (no receipt has set an average): 2 × 400
    expect(entry("stock_movement")).toEqual([
      ["1300", 0, 800],
      ["5000", 800, 0],
    ]);
    const csv = await t.app.inject({ method: "GET", url: "/v1/journal?format=csv", headers: t.auth });
    expect(csv.headers["content-type"]).toContain("text/csv");
    const lines = csv.body.trim().split("\n");
    expect(lines[0]).toBe(
      "entry_id,posted_at,source_type,source_id,reference,description,currency,line_no,account,debit,credit,sku",
    );
    expect(lines.some((l) => l.includes(`invoice,${inv.number}`))).toBe(true);
  });

  it("books COGS at the moving-average cost of the moment each shipment leaves", async () => {
    await ok(t, "POST", "/v1/suppliers", { code: "SUP", name: "Supplier", lead_time_days: 3 }, 201);
    await ok(t, "POST", "/v1/suppliers/SUP/items", { sku: "BOOK", cost: 300 }, 201);
    const o = await place(t, orderBody([{ sku: "BOOK", quantity: 3, unit_price: 1070 }]));
    const cogs = async () =>
      (await ok<{ data: JournalRow[] }>(t, "GET", "/v1/journal?limit=5000")).data
        .filter((r) => r.source_type === "stock_movement" && r.account === "5000" && r.sku === "BOOK")
        .map((r) => r.debit - r.credit);
    const receive = async (quantity: number, unit_cost: number, freight: number) => {
      const po = await ok(t, "POST", "/v1/purchase-orders", {
        supplier: "SUP",
        location: "MAIN",
        lines: [{ sku: "BOOK", quantity, unit_cost }],
      });
      await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
      await ok(t, "POST", `/v1/purchase-orders/${po.id}/receipts`, {
        lines: [{ sku: "BOOK", quantity }],
        freight,
      });
    };
    const before = (await cogs()).length;
    await ship(t, o.id, [{ sku: "BOOK", quantity: 1 }]); // no receipt yet: the catalogue cost
    await receive(10, 1000, 200); // the first receipt sets the average (purchasing's rule): 1020
    await ship(t, o.id, [{ sku: "BOOK", quantity: 1 }]);
    const onHand = (await ok(t, "GET", "/v1/inventory/levels?sku=BOOK&location=MAIN")).data[0].on_hand;
    await receive(10, 500, 0); // moves it to (1020 × on hand + 5000) / (on hand + 10)
    await ship(t, o.id);
    const avg = (1020 * onHand + 5000) / (onHand + 10);
    expect((await cogs()).slice(before)).toEqual([300, 1020, Math.round(avg)]);
  });
});
