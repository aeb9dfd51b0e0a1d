import { readFileSync } from "node:fs";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../../test/helpers.js";
import { api, location, ok, stock } from "../../../test/shop.js";
import { orderBody, place } from "../../orders/testing.js";
import { csvStream, decimalAmount } from "./stream.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "MAIN", 1);
  await location(t, "EAST", 2);
  await ok(
    t,
    "POST",
    "/v1/products",
    {
      title: 'Tee "Classic", cotton',
      handle: "tee-classic",
      kind: "physical",
      status: "active",
      description: "Soft, heavy,\nand plain",
      options: ["Size", "Color"],
      variants: [
        { sku: "TEE-S-RED", options: { Size: "S", Color: "Red" }, price: 1999, currency: "EUR", cost: 800 },
        {
          sku: "TEE-M-RED",
          options: { Size: "M", Color: "Red" },
          price: 2099,
          currency: "EUR",
          barcode: "40000008",
        },
      ],
    },
    201,
  );
  await ok(
    t,
    "POST",
    "/v1/products",
    {
      title: "Mug",
      kind: "physical",
      status: "active",
      variants: [{ sku: "MUG", price: 1200, currency: "JPY", inventory_policy: "backorder" }],
    },
    201,
  );
  await stock(t, "TEE-S-RED", "MAIN", 10);
  await stock(t, "TEE-S-RED", "EAST", 4);
  await stock(t, "MUG", "MAIN", 3);
  await place(
    t,
    orderBody([
      { sku: "TEE-S-RED", quantity: 2, unit_price: 1999 },
      { sku: "MUG", quantity: 1 },
    ]),
  );
});
afterAll(() => t.close());

async function download(url: string) {
  const res = await t.app.inject({ method: "GET", url, headers: t.auth });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
  return parse(res.body, { columns: true }) as Record<string, string>[];
}

describe("CSV exports", () => {
  it("levels: one row per SKU × location, filterable by location", async () => {
    const rows = await download("/v1/exports/levels.csv");
    const tee = rows.filter((r) => r.sku === "TEE-S-RED");
    expect(tee.map((r) => [r.location, r.on_hand, r.allocated, r.available])).toEqual([
      ["MAIN", "10", "2", "8"],
      ["EAST", "4", "0", "4"],
    ]);
    const east = await download("/v1/exports/levels.csv?location=EAST");
    expect(east.map((r) => r.sku)).toEqual(["TEE-S-RED"]);
  });

  it("movements: the ledger in id order, filtered by SKU", async () => {
    const rows = await download("/v1/exports/movements.csv?sku=TEE-S-RED");
    expect(rows.map((r) => [r.location, r.bucket, r.delta])).toEqual([
      ["MAIN", "on_hand", "10"],
      ["EAST", "on_hand", "4"],
      ["MAIN", "allocated", "2"],
    ]);
    expect(Number(rows[1].id)).toBeGreaterThan(Number(rows[0].id));
    expect(new Date(rows[0].created_at).toISOString()).toBe(rows[0].created_at);
  });

  it("orders: one row per line, prices as decimals in the order's currency", async () => {
    const rows = await download("/v1/exports/orders.csv");
    expect(rows.map((r) => [r.sku, r.quantity, r.unit_price, r.currency, r.channel])).toEqual([
      ["TEE-S-RED", "2", "19.99", "EUR", "manual"],
      ["MUG", "1", "10.00", "EUR", "manual"],
    ]);
    expect(await download("/v1/exports/orders.csv?status=cancelled")).toEqual([]);
  });

  it("products: Shopify's product template, the product's fields on its first row, quotes and newlines intact", async () => {
    const rows = await download("/v1/exports/products.csv");
    const template = readFileSync(
      new URL("../../../test/fixtures/shopify-product-import-template.csv", import.meta.url),
      "utf8",
    );
    const templateHeader = (parse(template, { to_line: 1 }) as string[][])[0];
    for (const column of Object.keys(rows[0])) expect(templateHeader).toContain(column);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({
      Title: 'Tee "Classic", cotton',
      "URL handle": "tee-classic",
      Description: "Soft, heavy,\nand plain",
      Status: "Active",
      SKU: "TEE-S-RED",
      "Option1 name": "Size",
      "Option1 value": "S",
      "Option2 name": "Color",
      "Option2 value": "Red",
      Price: "19.99",
      "Cost per item": "8.00",
      "Continue selling when out of stock": "DENY",
    });
    expect(rows[1]).toMatchObject({
      Title: "",
      "URL handle": "tee-classic",
      SKU: "TEE-M-RED",
      "Option1 name": "",
    });
    expect(rows[1]).toMatchObject({ "Option1 value": "M", Barcode: "40000008", Price: "20.99" });
    expect(rows[2]).toMatchObject({
      Title: "Mug",
      Status: "Active",
      Price: "1200",
      "Continue selling when out of stock": "CONTINUE",
    });
  });

  it("refuses unknown filters and asks for a key", async () => {
    expect((await api(t, "GET", "/v1/exports/levels.csv?warehouse=MAIN")).statusCode).toBe(400);
    expect((await t.app.inject({ method: "GET", url: "/v1/exports/levels.csv" })).statusCode).toBe(401);
  });

  it("pages through any number of rows by key without holding them", async () => {
    const all = Array.from({ length: 7 }, (_, i) => ({ id: i + 1, name: `row,${i + 1}` }));
    const pages: Array<number | undefined> = [];
    const stream = csvStream<{ id: number; name: string }>(
      ["id", "name"],
      async (after, size) => {
        pages.push(after?.id);
        return all.filter((r) => r.id > (after?.id ?? 0)).slice(0, size);
      },
      3,
    );
    let text = "";
    for await (const chunk of stream) text += chunk;
    expect(pages).toEqual([undefined, 3, 6]);
    expect(parse(text, { columns: true })).toEqual(all.map((r) => ({ id: String(r.id), name: r.name })));
    expect(decimalAmount(1999, "EUR")).toBe("19.99");
    expect(decimalAmount(1200, "JPY")).toBe("1200");
    expect(decimalAmount(1234, "KWD")).toBe("1.234");
  });
});
