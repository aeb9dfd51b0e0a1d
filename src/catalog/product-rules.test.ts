import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { call, counts, createProduct, freshSku, physical, problem } from "./testing.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

let before: Record<string, number>;
beforeEach(async () => {
  before = await counts(t);
});

/** POSTs a product, expects a refusal with this status naming these paths, and that nothing changed. */
async function refused(body: unknown, status: number, paths: string[], code = "validation_failed") {
  const res = problem(await call(t, "POST", "/v1/products", body));
  expect(res, JSON.stringify(res.body)).toMatchObject({ status, code, problemJson: true });
  for (const path of paths) expect(res.paths, JSON.stringify(res.body)).toContain(path);
  expect(await counts(t)).toEqual(before);
  return res;
}

const variant = (sku: string, extra: Record<string, unknown> = {}) => ({
  sku,
  price: 500,
  currency: "EUR",
  ...extra,
});

describe("SKU rules", () => {
  it("trims SKUs and accepts the whole charset up to 64 characters", async () => {
    const long = `A${"b".repeat(63)}`;
    const p = await createProduct(t, physical("Charset", [" a.b_c-d/e9 "]));
    expect(p.variants[0].sku).toBe("a.b_c-d/e9");
    const q = await createProduct(t, physical("Long", [long]));
    expect(q.variants[0].sku).toBe(long);
  });

  it("refuses SKUs outside the charset, too long, empty or starting with punctuation", async () => {
    for (const sku of ["", "   ", "A B", "-AB", ".AB", "/AB", "ÄB", "AB#1", "AB\n1", `A${"b".repeat(64)}`]) {
      await refused(physical("Bad sku", [sku]), 400, ["body.variants.0.sku"]);
    }
  });

  it("refuses a SKU twice in one request with 400", async () => {
    await refused(physical("Twice", ["TWICE-1", " TWICE-1"]), 400, ["body.variants.1.sku"]);
  });

  it("refuses a SKU another product has with 409 naming it", async () => {
    await createProduct(t, physical("Owner", ["TAKEN-1"]));
    before = await counts(t);
    const res = await refused(physical("Thief", ["FREE-1", "TAKEN-1"]), 409, [], "conflict");
    expect(res.body.detail).toContain("TAKEN-1");
    expect(res.body.sku).toBe("TAKEN-1");
  });

  it("SKUs are case-sensitive", async () => {
    await createProduct(t, physical("Case", ["case-sku"]));
    const p = await createProduct(t, physical("CASE", ["CASE-SKU"]));
    expect(p.variants[0].sku).toBe("CASE-SKU");
  });

  it("two concurrent creates of one SKU: one 201, one 409, never a 5xx", async () => {
    const bodies = Array.from({ length: 6 }, (_, i) => physical(`Race ${i}`, ["RACE-1"]));
    const replies = await Promise.all(bodies.map((b) => call(t, "POST", "/v1/products", b)));
    const codes = replies.map((r) => r.statusCode).sort();
    expect(codes).toEqual([201, 409, 409, 409, 409, 409]);
  });

  it("concurrent creates of one title get distinct handles", async () => {
    const replies = await Promise.all(
      Array.from({ length: 8 }, () =>
        call(t, "POST", "/v1/products", physical("Same Title", [freshSku("ST")])),
      ),
    );
    expect(replies.map((r) => r.statusCode)).toEqual(Array(8).fill(201));
    const handles = replies.map((r) => r.json().handle).sort();
    expect(new Set(handles).size).toBe(8);
    expect(handles).toContain("same-title");
    expect(handles).toContain("same-title-8");
  });
});

describe("barcodes", () => {
  it("accepts valid GTIN-8/12/13/14", async () => {
    const codes = ["96385074", "036000291452", "4006381333931", "10012345678902"];
    const p = await createProduct(t, {
      ...physical("Barcodes"),
      variants: codes.map((barcode, i) => variant(`BC-${i}`, { barcode, options: { Pack: String(i) } })),
      options: ["Pack"],
    });
    expect(p.variants.map((v: { barcode: string }) => v.barcode)).toEqual(codes);
  });

  it("refuses a wrong check digit, a wrong length and letters, naming the field", async () => {
    for (const barcode of ["4006381333932", "1234567", "40063813339A1", "123456789012345"]) {
      const res = await refused(
        { ...physical("Bad barcode"), variants: [variant("BAD-BC", { barcode })] },
        400,
        ["body.variants.0.barcode"],
      );
      expect(res.body.detail).toMatch(/GTIN|check digit/);
    }
  });

  it("refuses a bad barcode on change too", async () => {
    await createProduct(t, physical("Change barcode", ["CB-1"]));
    const p = (await call(t, "GET", "/v1/variants/CB-1")).json();
    before = await counts(t);
    const res = problem(
      await call(t, "PATCH", `/v1/products/${p.product_id}`, {
        variants: [{ sku: "CB-1", barcode: "4006381333932" }],
      }),
    );
    expect(res).toMatchObject({ status: 400, paths: ["body.variants.0.barcode"] });
    expect(await counts(t)).toEqual(before);
  });
});

describe("options", () => {
  const base = { title: "Opt", kind: "physical", status: "draft", options: ["Size", "Color"] };

  it("refuses an unknown option, a missing one and a repeated combination", async () => {
    await refused(
      { ...base, variants: [variant("O-1", { options: { Size: "S", Color: "Red", Fit: "Slim" } })] },
      400,
      ["body.variants.0.options.Fit"],
    );
    await refused({ ...base, variants: [variant("O-1", { options: { Size: "S" } })] }, 400, [
      "body.variants.0.options",
    ]);
    await refused(
      {
        ...base,
        variants: [
          variant("O-1", { options: { Size: "S", Color: "Red" } }),
          variant("O-2", { options: { Color: "Red", Size: "S" } }),
        ],
      },
      400,
      ["body.variants.1.options"],
    );
    await refused(
      {
        ...base,
        options: ["Size", "size"],
        variants: [variant("O-1", { options: { Size: "S", size: "M" } })],
      },
      400,
      ["body.options.1"],
    );
  });

  it("a product without options has one variant", async () => {
    await refused({ ...base, options: undefined, variants: [variant("O-1"), variant("O-2")] }, 400, [
      "body.variants.1.options",
    ]);
    await refused({ ...base, options: [], variants: [variant("O-1", { options: { Size: "S" } })] }, 400, [
      "body.variants.0.options.Size",
    ]);
  });

  it("a new variant added by PATCH follows the same rules (422)", async () => {
    const p = await createProduct(t, {
      ...base,
      variants: [variant("OP-1", { options: { Size: "S", Color: "Red" } })],
    });
    before = await counts(t);
    const cases: [unknown, string][] = [
      [
        { variants: [{ sku: "OP-2", currency: "EUR", options: { Size: "M", Color: "Red" } }] },
        "body.variants.0.price",
      ],
      [{ variants: [variant("OP-2", { options: { Size: "S", Color: "Red" } })] }, "body.variants.0.options"],
      [{ variants: [variant("OP-2", { options: { Size: "M" } })] }, "body.variants.0.options"],
      [
        { variants: [{ sku: "OP-1", options: { Size: "S", Color: "Red", Fit: "x" } }] },
        "body.variants.0.options.Fit",
      ],
    ];
    for (const [body, path] of cases) {
      const res = problem(await call(t, "PATCH", `/v1/products/${p.id}`, body));
      expect(res, JSON.stringify(res.body)).toMatchObject({ status: 422, code: "validation_failed" });
      expect(res.paths).toContain(path);
    }
    const dup = problem(
      await call(t, "PATCH", `/v1/products/${p.id}`, {
        variants: [variant("OP-2", { options: { Size: "M", Color: "Red" } }), { sku: "OP-2", price: 1 }],
      }),
    );
    expect(dup).toMatchObject({ status: 400, paths: ["body.variants.1.sku"] });
    expect(await counts(t)).toEqual(before);

    await createProduct(t, physical("Other owner", ["OTHER-OWNER"]));
    before = await counts(t);
    const taken = problem(
      await call(t, "PATCH", `/v1/products/${p.id}`, {
        title: "Renamed",
        variants: [variant("OTHER-OWNER", { options: { Size: "L", Color: "Red" } })],
      }),
    );
    expect(taken).toMatchObject({ status: 409, code: "conflict" });
    expect(taken.body.detail).toContain("OTHER-OWNER");
    expect(await counts(t)).toEqual(before);
    expect((await call(t, "GET", `/v1/products/${p.id}`)).json().title).toBe("Opt");

    const swapped = await call(t, "PATCH", `/v1/products/${p.id}`, {
      variants: [
        { sku: "OP-1", options: { Size: "M", Color: "Red" } },
        variant("OP-2", { options: { Size: "S", Color: "Red" } }),
      ],
    });
    expect(swapped.statusCode, swapped.body).toBe(200);
  });
});

describe("money and bounds", () => {
  it("refuses bad prices, currencies and sizes with 400 naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ price: -1 }, "body.variants.0.price"],
      [{ price: 9.99 }, "body.variants.0.price"],
      [{ price: "100" }, "body.variants.0.price"],
      [{ cost: -5 }, "body.variants.0.cost"],
      [{ currency: "eur" }, "body.variants.0.currency"],
      [{ currency: "EURO" }, "body.variants.0.currency"],
      [{ weight_grams: -1 }, "body.variants.0.weight_grams"],
      [{ inventory_policy: "sometimes" }, "body.variants.0.inventory_policy"],
      [{ colour: "red" }, "body.variants.0.colour"],
    ];
    for (const [extra, path] of cases) {
      await refused({ ...physical("Money"), variants: [variant("M-1", extra)] }, 400, [path]);
    }
    await refused({ ...physical("x"), title: "x".repeat(501) }, 400, ["body.title"]);
    await refused({ ...physical("x"), title: "   " }, 400, ["body.title"]);
    await refused({ ...physical("x"), handle: "Not A Handle" }, 400, ["body.handle"]);
    await refused({ ...physical("x"), status: "live" }, 400, ["body.status"]);
    await refused({ ...physical("x"), kind: "service" }, 400, ["body.kind"]);
    await refused({ ...physical("x"), variants: [] }, 400, ["body.variants"]);
    await refused({ ...physical("x"), id: 5 }, 400, ["body.id"]);
    await refused(
      { ...physical("x"), variants: Array.from({ length: 251 }, (_, i) => variant(`MANY-${i}`)) },
      400,
      ["body.variants"],
    );
    await refused({ title: "x", kind: "physical", variants: [variant("NS-1")] }, 400, ["body.status"]);
  });

  it("a product has at most 250 variants, also when PATCH adds some (422)", async () => {
    const p = await createProduct(t, {
      title: "Big",
      kind: "physical",
      status: "draft",
      options: ["N"],
      variants: Array.from({ length: 250 }, (_, i) => variant(`BIG-${i}`, { options: { N: String(i) } })),
    });
    expect(p.variants).toHaveLength(250);
    before = await counts(t);
    const res = problem(
      await call(t, "PATCH", `/v1/products/${p.id}`, {
        variants: [variant("BIG-250", { options: { N: "250" } })],
      }),
    );
    expect(res).toMatchObject({ status: 422, paths: ["body.variants"] });
    expect(await counts(t)).toEqual(before);
  });
});
