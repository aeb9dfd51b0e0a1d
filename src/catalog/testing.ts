import type { TestContext } from "../../test/helpers.js";

/** Helpers for the catalog's HTTP tests. */

type Method = "GET" | "POST" | "PATCH";

export function call(t: TestContext, method: Method, url: string, body?: unknown, headers = {}) {
  return t.app.inject({
    method,
    url,
    headers: { ...t.auth, ...headers },
    ...(body === undefined ? {} : { payload: body as object }),
  });
}

/** Row counts of the tables a catalog write touches, to prove a refused request changed nothing. */
export async function counts(t: TestContext) {
  const tables = ["products", "variants", "bundle_components", "locations", "outbox_events"] as const;
  const result: Record<string, number> = {};
  for (const table of tables) {
    const row = await t.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .executeTakeFirstOrThrow();
    result[table] = Number(row.n);
  }
  return result;
}

export async function eventsOfType(t: TestContext, type: string) {
  const rows = await t.db
    .selectFrom("outbox_events")
    .select(["type", "payload"])
    .where("type", "=", type)
    .orderBy("id")
    .execute();
  return rows.map((r) => r.payload as Record<string, unknown>);
}

let serial = 0;
/** A unique SKU for this test file's database. */
export function freshSku(prefix = "SKU"): string {
  serial += 1;
  return `${prefix}-${serial}`;
}

/** A valid physical product body with one variant per given SKU (told apart by a "Pack" option). */
export function physical(title: string, skus: string[] = [freshSku()], extra: Record<string, unknown> = {}) {
  const many = skus.length > 1;
  return {
    title,
    kind: "physical",
    status: "active",
    ...(many ? { options: ["Pack"] } : {}),
    variants: skus.map((sku, i) => ({
      sku,
      price: 1000,
      currency: "EUR",
      ...(many ? { options: { Pack: String(i + 1) } } : {}),
    })),
    ...extra,
  };
}

/** Creates a product through the API and returns its JSON; fails the test on anything but 201. */
export async function createProduct(t: TestContext, body: unknown) {
  const res = await call(t, "POST", "/v1/products", body);
  if (res.statusCode !== 201) throw new Error(`POST /v1/products → ${res.statusCode}: ${res.body}`);
  return res.json();
}

/** The parts of a problem+json reply the tests look at. */
export function problem(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }) {
  const body = res.json() as { code?: string; errors?: { path: string }[]; [k: string]: unknown };
  return {
    status: res.statusCode,
    code: body.code,
    paths: (body.errors ?? []).map((e) => e.path),
    body,
    problemJson: String(res.headers["content-type"]).includes("application/problem+json"),
  };
}
