import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen, type TestContext, testApp } from "../../test/helpers.js";
import { location, ok, product, stock } from "../../test/shop.js";
import { orderBody, place } from "../orders/testing.js";
import { nextNumber } from "./numbering.js";
import { packed, unbalancedEntries } from "./testing.js";

let t: TestContext;
let base: string;
beforeAll(async () => {
  t = await testApp({ pool: 24 });
  base = await listen(t);
  await location(t, "MAIN", 1, "DE");
  await product(t, ["SOCK"]);
  await stock(t, "SOCK", "MAIN", 1000);
});
afterAll(() => t.close());

describe("invoice numbers under concurrency", () => {
  it("many shipments at once over real HTTP, with rolled back issues in between: no gap, no duplicate", async () => {
    const orders = 48;
    const fulfilments: number[] = [];
    for (let i = 0; i < orders; i++) {
      const o = await place(t, orderBody([{ sku: "SOCK", quantity: 1 + (i % 3), unit_price: 799 }]));
      fulfilments.push(await packed(t, o.id));
    }
    const shipOne = async (id: number) => {
      const res = await fetch(`${base}/v1/fulfillments/${id}/ship`, {
        method: "POST",
        headers: { ...t.auth, "content-type": "application/json" },
        body: JSON.stringify({ carrier: "DHL", tracking_number: `C${id}` }),
      });
      expect(res.status).toBe(200);
    };
    // transactions that take a number and then fail: their numbers must come back
    const rolledBack = async () => {
      await expect(
        t.db.transaction().execute(async (tx) => {
          await nextNumber(tx, "invoice");
          throw new Error("issue fails after numbering");
        }),
      ).rejects.toThrow(/issue fails/);
    };
    await Promise.all([...fulfilments.map(shipOne), ...Array.from({ length: 12 }, rolledBack)]);

    const { data } = await ok(t, "GET", "/v1/invoices?limit=500");
    expect(data).toHaveLength(orders);
    const numbers: string[] = data.map((i: { number: string }) => i.number);
    expect(new Set(numbers).size).toBe(orders);
    const year = new Date().getUTCFullYear();
    const seqs = numbers
      .map((n) => {
        expect(n).toMatch(new RegExp(`^INV-${year}-\\d{6}$`));
        return Number(n.slice(-6));
      })
      .sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: orders }, (_, i) => i + 1));
    // one invoice per fulfilment, each for what its order charged
    expect(new Set(data.map((i: { fulfillment_id: number }) => i.fulfillment_id)).size).toBe(orders);
    for (const inv of data) expect(inv.total).toBe(inv.lines[0].quantity * 799);
    expect(await unbalancedEntries(t)).toEqual([]);
  });
});
