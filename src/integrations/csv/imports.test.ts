import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../../test/helpers.js";
import { level, location, ok, product, stock } from "../../../test/shop.js";
import { failStaleImports } from "./imports.js";

interface Variant {
  sku: string;
  price: number;
  currency: string;
  options: Record<string, string>;
  weight_grams: number | null;
  inventory_policy: string;
}

// the real Shopify templates, copied unchanged from shared/fixtures (test/fixtures/SOURCES.md)
const fixtures = new URL("../../../test/fixtures", import.meta.url).pathname;
const current = readFileSync(`${fixtures}/shopify-product-import-template.csv`, "utf8");
const legacy = readFileSync(`${fixtures}/shopify-product-import-template-legacy.csv`, "utf8");

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "MAIN", 1);
});
afterAll(() => t.close());

async function upload(kind: string, csv: string, query = "") {
  return t.app.inject({
    method: "POST",
    url: `/v1/imports?kind=${kind}${query}`,
    headers: { ...t.auth, "content-type": "text/csv" },
    payload: csv,
  });
}

async function imported(kind: string, csv: string, query = "") {
  const res = await upload(kind, csv, query);
  expect(res.statusCode, res.body).toBe(202);
  const { id, status } = res.json();
  expect(status).toBe("running");
  for (let i = 0; i < 200; i++) {
    const job = await ok(t, "GET", `/v1/imports/${id}`);
    if (job.status !== "running") return job;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("import did not finish");
}

async function byHandle(handle: string) {
  const page = await ok(t, "GET", "/v1/products?limit=100");
  return page.data.find((p: { handle: string }) => p.handle === handle);
}

const countChanges = async () => {
  const events = await sql<{ n: string }>`select count(*) as n from outbox_events`.execute(t.db);
  const products = await t.db.selectFrom("products").select(["id", "updated_at"]).orderBy("id").execute();
  const variants = await t.db.selectFrom("variants").select(["id", "updated_at"]).orderBy("id").execute();
  return JSON.stringify({ events: events.rows[0].n, products, variants });
};

describe("product CSV import (Shopify templates)", () => {
  it("imports the legacy template as it is: the row without a SKU is reported, the others apply", async () => {
    const job = await imported("products", legacy);
    expect(job).toMatchObject({ kind: "products", status: "done", rows: 3, applied: 2 });
    expect(job.errors).toEqual([{ line: 2, message: expect.stringContaining("SKU is empty") }]);
    const p = await byHandle("example-t-shirt");
    expect(p).toMatchObject({
      title: "Example T-Shirt",
      status: "active",
      kind: "physical",
      options: ["Title"],
    });
    expect(
      p.variants.map((v: Variant) => [
        v.sku,
        v.price,
        v.currency,
        v.options,
        v.weight_grams,
        v.inventory_policy,
      ]),
    ).toEqual([
      ["example-shirt-s", 1999, "EUR", { Title: "Small" }, 200, "deny"],
      ["example-shirt-m", 1999, "EUR", { Title: "Medium" }, 200, "deny"],
    ]);
  });

  it("imports the current template as it is: its barcodes are not GTINs, so those rows are reported", async () => {
    const job = await imported("products", current);
    expect(job).toMatchObject({ status: "done", rows: 15, applied: 0, error_count: 15 });
    // the T-shirt's barcodes have 10 digits; the e-book's is an ISBN with a wrong GTIN check digit
    expect(job.errors.map((e: { line: number }) => e.line)).toEqual([
      2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    ]);
    expect(job.errors[0].message).toMatch(/barcode/);
    expect(await byHandle("physical-product-the-band-t-shirt")).toBeUndefined();
  });

  it("maps the current template's columns once barcodes are valid GTINs", async () => {
    const fixed = current.replace(/,57843977(\d\d),/g, (_m, n) => `,${gtin(`4000000000${n}`)},`);
    const job = await imported("products", fixed, "&currency=USD");
    // the e-book rows still carry the ISBN, which is not a valid GTIN
    expect(job).toMatchObject({ status: "done", rows: 15, applied: 12, error_count: 3 });
    expect(job.errors.map((e: { line: number }) => e.line)).toEqual([14, 15, 16]);
    const p = await byHandle("physical-product-the-band-t-shirt");
    expect(p).toMatchObject({
      title: "Physical Product “The Band” T-Shirt",
      status: "active",
      options: ["Size", "Color"],
    });
    expect(p.description).toMatch(/^Celebrate the timeless legacy/);
    expect(p.variants).toHaveLength(12);
    expect(p.variants[0]).toMatchObject({
      sku: "TheBandTShirt-SG",
      options: { Size: "Small", Color: "green" },
      price: 1999,
      currency: "USD",
      cost: 1100,
      weight_grams: 150,
      inventory_policy: "deny",
      barcode: gtin("400000000065"),
    });
    expect(p.variants[11]).toMatchObject({ sku: "TheBandTShirt-XR", options: { Size: "XL", Color: "red" } });

    const before = await countChanges();
    const again = await imported("products", fixed, "&currency=USD");
    expect(again).toMatchObject({ status: "done", rows: 15, applied: 12, error_count: 3 });
    expect(await countChanges()).toBe(before);
  });

  it("re-importing the legacy file changes nothing", async () => {
    const before = await countChanges();
    const job = await imported("products", legacy);
    expect(job).toMatchObject({ rows: 3, applied: 2 });
    expect(await countChanges()).toBe(before);
  });

  it("applies the good rows of a file with a bad one and names the bad line; a changed price updates", async () => {
    const csv = [
      "Handle,Title,Variant SKU,Variant Price,Option1 Name,Option1 Value,Variant Inventory Policy",
      "mug,Mug,MUG-1,9.50,Color,White,continue",
      "mug,,MUG-2,abc,,Black,deny",
      "mug,,MUG-3,11,,Blue,deny",
    ].join("\n");
    const job = await imported("products", csv);
    expect(job).toMatchObject({ status: "done", rows: 3, applied: 2 });
    expect(job.errors).toEqual([{ line: 3, message: expect.stringContaining("abc") }]);
    const p = await byHandle("mug");
    expect(p.variants.map((v: Variant) => [v.sku, v.price, v.inventory_policy])).toEqual([
      ["MUG-1", 950, "backorder"],
      ["MUG-3", 1100, "deny"],
    ]);
    await imported("products", csv.replace("9.50", "9.75"));
    expect((await byHandle("mug")).variants[0].price).toBe(975);
  });

  it("prices use the currency's minor digits", async () => {
    const job = await imported(
      "products",
      "Handle,Title,Variant SKU,Variant Price\nyen,Yen,YEN-1,1500",
      "&currency=JPY",
    );
    expect(job.applied).toBe(1);
    expect((await byHandle("yen")).variants[0]).toMatchObject({ price: 1500, currency: "JPY" });
    const bad = await imported(
      "products",
      "Handle,Title,Variant SKU,Variant Price\nyen2,Yen,YEN-2,15.5",
      "&currency=JPY",
    );
    expect(bad.errors[0]).toEqual({ line: 2, message: expect.stringContaining("decimals") });
  });
});

describe("levels CSV import", () => {
  it("sets on_hand per row, reports bad rows, and changes nothing when imported again", async () => {
    await product(t, ["LVL-A", "LVL-B"]);
    await stock(t, "LVL-B", "MAIN", 5);
    const csv =
      "sku,location,on_hand,available\nLVL-A,MAIN,12,0\nNOPE,MAIN,3,0\nLVL-B,MAIN,-1,0\nLVL-B,MAIN,7,0\n";
    const job = await imported("levels", csv);
    expect(job).toMatchObject({ kind: "levels", status: "done", rows: 4, applied: 2 });
    expect(job.errors.map((e: { line: number }) => e.line)).toEqual([3, 4]);
    expect((await level(t, "LVL-A", "MAIN"))?.on_hand).toBe(12);
    expect((await level(t, "LVL-B", "MAIN"))?.on_hand).toBe(7);
    const movements = await sql`select id from inventory_movements`.execute(t.db);
    await imported("levels", csv);
    expect(await sql`select id from inventory_movements`.execute(t.db)).toEqual(movements);
  });
});

describe("requests and bad input", () => {
  it("refuses another content type with 415", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/imports?kind=levels",
      headers: { ...t.auth, "content-type": "application/json" },
      payload: { sku: "x" },
    });
    expect(res.statusCode).toBe(415);
  });

  it("garbage becomes row errors or a failed import, never a 500", async () => {
    const unclosed = await imported("products", 'Handle,Title\n"open,quote\nnext');
    expect(unclosed.status).toBe("failed");
    expect(unclosed.errors[0].message).toMatch(/not a readable CSV/);
    const junk = await imported("levels", "\u0000\u0001binary,,\n,,,\nfoo");
    expect(junk.status).toBe("done");
    expect(junk.applied).toBe(0);
    expect(junk.errors.length).toBeGreaterThan(0);
    expect((await upload("nonsense", "a,b")).statusCode).toBe(400);
  });

  it("an Idempotency-Key replays the answer and starts the import once", async () => {
    const send = () =>
      t.app.inject({
        method: "POST",
        url: "/v1/imports?kind=levels",
        headers: { ...t.auth, "content-type": "text/csv", "idempotency-key": "imp-1" },
        payload: "sku,location,on_hand\nNOPE,MAIN,1\n",
      });
    const first = await send();
    const second = await send();
    expect(second.statusCode).toBe(202);
    expect(second.json()).toEqual(first.json());
    const count = await sql<{ n: string }>`select count(*) as n from imports where started`.execute(t.db);
    const all = await sql<{ n: string }>`select count(*) as n from imports`.execute(t.db);
    expect(count.rows[0].n).toBe(all.rows[0].n);
  });

  it("a stale running import is marked failed", async () => {
    const row = await t.db
      .insertInto("imports")
      .values({ kind: "levels", actor: "test", errors: "[]", heartbeat_at: new Date(Date.now() - 3600_000) })
      .returning("id")
      .executeTakeFirstOrThrow();
    expect(await failStaleImports(t.db)).toBe(1);
    const job = await ok(t, "GET", `/v1/imports/${row.id}`);
    expect(job.status).toBe("failed");
    expect(job.errors[0].message).toMatch(/importing the same file again is safe/);
  });
});

function gtin(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    const d = body.charCodeAt(body.length - 1 - i) - 48;
    sum += i % 2 === 0 ? d * 3 : d;
  }
  return body + ((10 - (sum % 10)) % 10);
}
