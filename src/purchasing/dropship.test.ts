import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, level, location, ok, product, stock } from "../../test/shop.js";
import { invoicesOf, ship, unbalancedEntries } from "../finance/testing.js";
import "../db/schema-shopify.js";
import { act, expectConsistent, order, orderBody, place, snapshot } from "../orders/testing.js";

/**
 * Drop-ship end to end over HTTP: a supplier item marked dropship holds no
 * stock, placement raises (or adds to) the day's purchase order for that
 * ship-to, the supplier's shipment ships the lines with invoice, journal and
 * the shipment event, cancellation takes lines off, shipping twice is refused.
 */

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "MAIN", 1, "DE");
  await product(t, ["GADGET"]);
  await product(t, ["GIZMO"]);
  await product(t, ["MUG"]);
  await stock(t, "MUG", "MAIN", 20);
  await ok(t, "POST", "/v1/suppliers", { code: "DROPCO", name: "Drop Co", lead_time_days: 4 }, 201);
  await ok(t, "POST", "/v1/suppliers/DROPCO/items", { sku: "GADGET", cost: 600, dropship: true }, 201);
  await ok(t, "POST", "/v1/suppliers/DROPCO/items", { sku: "GIZMO", cost: 250, dropship: true }, 201);
  // MUG is bought from DROPCO too, but for stock
  await ok(t, "POST", "/v1/suppliers/DROPCO/items", { sku: "MUG", cost: 300 }, 201);
});
afterAll(() => t.close());

/** An order for a customer of its own (or the one given: same e-mail and address). */
function body(lines: { sku: string; quantity: number; unit_price?: number }[], customer?: string) {
  const b = orderBody(lines, { shipping_total: 500 });
  return customer ? { ...b, customer: { email: customer, name: "Ada Buyer" } } : b;
}

const purchaseOrderOf = async (orderId: number) => {
  const r = await sql<{ purchase_order_id: number }>`
    select distinct purchase_order_id from dropship_lines where order_id = ${orderId}`.execute(t.db);
  expect(r.rows).toHaveLength(1);
  return ok(t, "GET", `/v1/purchase-orders/${r.rows[0].purchase_order_id}`);
};

describe("drop-ship", () => {
  it("holds no stock, raises the day's purchase order to the customer, ships it with invoice and postings", async () => {
    const email = `drop-e2e-${Date.now()}@example.com`;
    const a = await place(t, body([{ sku: "GADGET", quantity: 2, unit_price: 2000 }], email));
    expect(a.status).toBe("approved");
    expect(a.lines[0]).toMatchObject({ sku: "GADGET", dropship: 2, held: 0, backordered: 0 });
    expect(a.lines[0].decision[0].rule).toBe("dropship");
    expect(a.allocations).toEqual([]);
    expect(await level(t, "GADGET", "MAIN")).toBeUndefined();

    const po = await purchaseOrderOf(a.id);
    expect(po).toMatchObject({ status: "submitted", location: null, supplier: "DROPCO" });
    expect(po.dropship.ship_to).toMatchObject({ email, address: { city: "Berlin", country: "DE" } });
    expect(po.lines).toMatchObject([{ sku: "GADGET", quantity: 2, unit_cost: 600 }]);
    expect(po.allowed_actions).toEqual(["ship"]);
    // a drop-ship order is neither received nor cancelled by hand
    const receipt = await api(t, "POST", `/v1/purchase-orders/${po.id}/receipts`, {
      lines: [{ sku: "GADGET", quantity: 1 }],
    });
    expect(receipt.statusCode).toBe(409);

    // the same customer again today: the same purchase order grows
    const b = await place(t, body([{ sku: "GADGET", quantity: 1, unit_price: 2000 }], email));
    const again = await purchaseOrderOf(b.id);
    expect(again.id).toBe(po.id);
    expect(again.lines).toMatchObject([{ sku: "GADGET", quantity: 3 }]);
    expect(again.dropship.orders.map((o: { order_id: number }) => o.order_id)).toEqual([a.id, b.id]);

    const shipped = await ok(t, "POST", `/v1/purchase-orders/${po.id}/ship`, {
      carrier: "UPS",
      tracking_number: "1Z999",
    });
    expect(shipped).toMatchObject({ status: "shipped", allowed_actions: [] });
    expect(shipped.dropship).toMatchObject({ carrier: "UPS", tracking_number: "1Z999" });
    for (const o of [a, b]) {
      const after = await order(t, o.id);
      expect(after).toMatchObject({ status: "shipped", fulfillment_status: "fulfilled" });
      expect(after.lines[0]).toMatchObject({ dropship: 0, shipped: o.id === a.id ? 2 : 1 });
      expect(after.fulfillments).toMatchObject([
        {
          location: null,
          purchase_order: po.number,
          status: "shipped",
          carrier: "UPS",
          tracking_number: "1Z999",
        },
      ]);
      const [invoice, ...more] = await invoicesOf(t, o.id);
      expect(more).toEqual([]);
      expect(invoice.lines.map((l) => [l.kind, l.quantity])).toEqual([
        ["item", o.id === a.id ? 2 : 1],
        ["shipping", 1],
      ]);
    }
    // cost of goods at the supplier's cost against purchase clearing, no inventory movement
    const postings = await sql<{ account: string; debit: number; credit: number }>`
      select l.account, l.debit::int, l.credit::int from journal_entries e join journal_lines l on l.entry_id = e.id
      where e.source_type = 'dropship' and e.reference = ${po.number} order by e.id, l.line_no`.execute(t.db);
    expect(postings.rows).toEqual([
      { account: "5000", debit: 1200, credit: 0 },
      { account: "2100", debit: 0, credit: 1200 },
      { account: "5000", debit: 600, credit: 0 },
      { account: "2100", debit: 0, credit: 600 },
    ]);
    expect(await unbalancedEntries(t)).toEqual([]);
    const shippedEvents = await sql<{ n: number }>`
      select count(*)::int as n from outbox_events where type = 'fulfillment.shipped'
        and (payload ->> 'order_id')::bigint in (${a.id}, ${b.id})`.execute(t.db);
    expect(shippedEvents.rows[0].n).toBe(2);
    await expectConsistent(t);
  });

  it("confirms a Shopify order's drop-ship shipment to Shopify like any shipment", async () => {
    const config = {
      shop_domain: "drop.myshopify.com",
      api_version: "2026-04",
      access_token: "token",
      webhook_secret: "secret",
      locations: { MAIN: "gid://shopify/Location/1" },
      base_url: "http://127.0.0.1:9",
    };
    await sql`insert into channels (code, kind, name, config)
      values ('shopdrop', 'shopify', 'Drop shop', ${JSON.stringify(config)}::jsonb)`.execute(t.db);
    const gid = "gid://shopify/Order/7770001";
    const o = await place(t, {
      ...body([{ sku: "GADGET", quantity: 1 }]),
      channel: "shopdrop",
      external_id: gid,
    });
    const po = await purchaseOrderOf(o.id);
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/ship`, { carrier: "DHL", tracking_number: "SHOP1" });
    const [f] = (await order(t, o.id)).fulfillments;
    const deadline = Date.now() + 20_000;
    let row:
      | { order_gid: string; carrier: string | null; tracking_number: string | null; lines: unknown }
      | undefined;
    while (!row && Date.now() < deadline) {
      row = await t.db
        .selectFrom("shopify_shipments")
        .select(["order_gid", "carrier", "tracking_number", "lines"])
        .where("fulfilment_id", "=", f.id)
        .executeTakeFirst();
      if (!row) await new Promise((r) => setTimeout(r, 100));
    }
    expect(row).toEqual({
      order_gid: gid,
      carrier: "DHL",
      tracking_number: "SHOP1",
      lines: [{ sku: "GADGET", quantity: 1 }],
    });
  });

  it("refuses to ship a drop-ship purchase order twice: 409, nothing changed", async () => {
    const o = await place(t, body([{ sku: "GIZMO", quantity: 1 }]));
    const po = await purchaseOrderOf(o.id);
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/ship`, { carrier: "DHL", tracking_number: "A1" });
    const before = await snapshot(t);
    const poBefore = await ok(t, "GET", `/v1/purchase-orders/${po.id}`);
    const twice = await api(t, "POST", `/v1/purchase-orders/${po.id}/ship`, {
      carrier: "DHL",
      tracking_number: "A2",
    });
    expect(twice.statusCode).toBe(409);
    expect(twice.json()).toMatchObject({ code: "invalid_transition", status_now: "shipped" });
    expect(await snapshot(t)).toEqual(before);
    expect(await ok(t, "GET", `/v1/purchase-orders/${po.id}`)).toEqual(poBefore);
    expect(await invoicesOf(t, o.id)).toHaveLength(1);
    // bad input is 400 and changes nothing either
    const bad = await api(t, "POST", `/v1/purchase-orders/${po.id}/ship`, { carrier: "" });
    expect(bad.statusCode).toBe(400);
    // shipping a stock purchase order is refused
    const stockPo = await ok(
      t,
      "POST",
      "/v1/purchase-orders",
      { supplier: "DROPCO", location: "MAIN", lines: [{ sku: "MUG", quantity: 5 }] },
      201,
    );
    const notDrop = await api(t, "POST", `/v1/purchase-orders/${stockPo.id}/ship`, {
      carrier: "DHL",
      tracking_number: "X",
    });
    expect(notDrop.statusCode).toBe(409);
  });

  it("two ship requests at once: one ships, the other is 409", async () => {
    const o = await place(t, body([{ sku: "GIZMO", quantity: 2 }]));
    const po = await purchaseOrderOf(o.id);
    const answers = await Promise.all(
      ["R1", "R2"].map((n) =>
        api(t, "POST", `/v1/purchase-orders/${po.id}/ship`, { carrier: "DHL", tracking_number: n }),
      ),
    );
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    const after = await order(t, o.id);
    expect(after.fulfillments).toHaveLength(1);
    expect(after.lines[0]).toMatchObject({ shipped: 2, dropship: 0 });
    expect(await invoicesOf(t, o.id)).toHaveLength(1);
    await expectConsistent(t);
  });

  it("takes cancelled lines off the purchase order before the supplier ships", async () => {
    const email = `drop-cancel-${Date.now()}@example.com`;
    const a = await place(t, body([{ sku: "GADGET", quantity: 3 }], email));
    const b = await place(
      t,
      body(
        [
          { sku: "GADGET", quantity: 1 },
          { sku: "GIZMO", quantity: 2 },
        ],
        email,
      ),
    );
    const po = await purchaseOrderOf(a.id);
    expect(po.lines).toMatchObject([
      { sku: "GADGET", quantity: 4 },
      { sku: "GIZMO", quantity: 2 },
    ]);
    // part of a line, then a whole order
    await act(t, a.id, "cancel", { reason: "changed mind", lines: [{ sku: "GADGET", quantity: 1 }] });
    expect((await order(t, a.id)).lines[0]).toMatchObject({ cancelled: 1, dropship: 2 });
    expect((await ok(t, "GET", `/v1/purchase-orders/${po.id}`)).lines).toMatchObject([
      { sku: "GADGET", quantity: 3 },
      { sku: "GIZMO", quantity: 2 },
    ]);
    await act(t, b.id, "cancel", { reason: "duplicate" });
    expect((await order(t, b.id)).status).toBe("cancelled");
    const left = await ok(t, "GET", `/v1/purchase-orders/${po.id}`);
    expect(left.status).toBe("submitted");
    expect(left.lines).toMatchObject([{ sku: "GADGET", quantity: 2 }]);
    await act(t, a.id, "cancel", { reason: "no longer needed" });
    const gone = await ok(t, "GET", `/v1/purchase-orders/${po.id}`);
    expect(gone).toMatchObject({ status: "cancelled", lines: [] });
    expect(
      gone.dropship.orders.every((o: { cancelled: number; quantity: number }) => o.cancelled === o.quantity),
    ).toBe(true);
    const late = await api(t, "POST", `/v1/purchase-orders/${po.id}/ship`, {
      carrier: "DHL",
      tracking_number: "L",
    });
    expect(late.statusCode).toBe(409);
    expect(await invoicesOf(t, a.id)).toEqual([]);
    // the next order of that customer today raises a new purchase order
    const c = await place(t, body([{ sku: "GADGET", quantity: 1 }], email));
    expect((await purchaseOrderOf(c.id)).id).not.toBe(po.id);
    await expectConsistent(t);
  });

  it("ships a mixed order: the stock lines from the warehouse, the drop-ship lines from the supplier", async () => {
    const mugBefore = (await level(t, "MUG", "MAIN"))!;
    const o = await place(
      t,
      body([
        { sku: "MUG", quantity: 2, unit_price: 1500 },
        { sku: "GADGET", quantity: 1, unit_price: 2000 },
      ]),
    );
    expect(o.lines.map((l: { held: number; dropship: number }) => [l.held, l.dropship])).toEqual([
      [2, 0],
      [0, 1],
    ]);
    expect((await level(t, "MUG", "MAIN"))!.available).toBe(mugBefore.available - 2);
    await ship(t, o.id);
    const part = await order(t, o.id);
    expect(part.status).toBe("partially_shipped");
    const po = await purchaseOrderOf(o.id);
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/ship`, { carrier: "UPS", tracking_number: "MIX1" });
    const done = await order(t, o.id);
    expect(done).toMatchObject({ status: "shipped", fulfillment_status: "fulfilled" });
    expect(done.fulfillments.map((f: { location: string | null }) => f.location)).toEqual(["MAIN", null]);
    const invoices = await invoicesOf(t, o.id);
    expect(invoices.map((i) => i.lines.map((l) => l.sku ?? l.kind))).toEqual([
      ["MUG", "shipping"],
      ["GADGET"],
    ]);
    expect(invoices.reduce((s, i) => s + i.total, 0)).toBe(done.total);
    expect((await level(t, "MUG", "MAIN"))!.on_hand).toBe(mugBefore.on_hand - 2);
    // the customer sends the drop-shipped unit back: it comes to the warehouse the order shipped from
    const ret = await ok(
      t,
      "POST",
      "/v1/returns",
      { order_id: o.id, lines: [{ sku: "GADGET", quantity: 1, reason: "damaged" }] },
      201,
    );
    expect(ret.location).toBe("MAIN");
    await expectConsistent(t);
  });

  it("an order on hold does not ship from the supplier until released", async () => {
    const o = await place(t, body([{ sku: "GIZMO", quantity: 1 }]));
    await act(t, o.id, "hold", { reason: "customer asked to wait" });
    const po = await purchaseOrderOf(o.id);
    const before = await snapshot(t);
    const held = await api(t, "POST", `/v1/purchase-orders/${po.id}/ship`, {
      carrier: "DHL",
      tracking_number: "H",
    });
    expect(held.statusCode).toBe(409);
    expect(held.json().detail).toContain("on hold");
    expect(await snapshot(t)).toEqual(before);
    await act(t, o.id, "release");
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/ship`, { carrier: "DHL", tracking_number: "H" });
    expect((await order(t, o.id)).status).toBe("shipped");
  });

  it("refuses to edit an order with drop-ship lines (the purchase order ships to its address)", async () => {
    const o = await place(t, body([{ sku: "GIZMO", quantity: 1 }]));
    const before = await snapshot(t);
    const edit = await t.app.inject({
      method: "PATCH",
      url: `/v1/orders/${o.id}`,
      headers: t.auth,
      payload: { shipping_address: { ...o.shipping_address, city: "Hamburg" } },
    });
    expect(edit.statusCode).toBe(409);
    expect(edit.json()).toMatchObject({ code: "conflict", dropship: ["GIZMO"] });
    expect(await snapshot(t)).toEqual(before);
  });

  it("two orders raising the day's purchase order at once make one purchase order", async () => {
    const email = `drop-race-${Date.now()}@example.com`;
    const placed = await Promise.all(
      Array.from({ length: 6 }, () =>
        api(t, "POST", "/v1/orders", body([{ sku: "GIZMO", quantity: 1 }], email)),
      ),
    );
    expect(placed.map((r) => r.statusCode)).toEqual(Array(6).fill(201));
    const ids = placed.map((r) => r.json().id as number);
    const pos = await sql<{ purchase_order_id: number }>`
      select distinct purchase_order_id from dropship_lines where order_id = any(${ids}::bigint[])`.execute(
      t.db,
    );
    expect(pos.rows).toHaveLength(1);
    const po = await ok(t, "GET", `/v1/purchase-orders/${pos.rows[0].purchase_order_id}`);
    expect(po.lines).toMatchObject([{ sku: "GIZMO", quantity: 6 }]);
    await expectConsistent(t);
  });
});
