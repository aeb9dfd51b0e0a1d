import { expect } from "vitest";
import type { TestContext } from "../../test/helpers.js";
import { api, expectLedgerConsistent, ok } from "../../test/shop.js";
import { auditOrderHolds } from "./audit.js";

/** Helpers for the orders tests. */

let serial = 0;

export function orderBody(
  lines: { sku: string; quantity: number; unit_price?: number }[],
  extra: Record<string, unknown> = {},
) {
  serial += 1;
  return {
    currency: "EUR",
    lines: lines.map((l) => ({ unit_price: 1000, ...l })),
    customer: { email: `customer${serial}@example.com`, name: "Ada Buyer" },
    shipping_address: {
      name: "Ada Buyer",
      line1: "Hauptstr. 1",
      city: "Berlin",
      postal_code: "10115",
      country: "DE",
    },
    ...extra,
  };
}

/**
 * Places an order; a placement's response must be byte for byte what reading
 * the order back gives (placement builds it from what it wrote).
 */
export async function place(t: TestContext, body: unknown, status = 201) {
  const res = await api(t, "POST", "/v1/orders", body);
  if (res.statusCode !== status) throw new Error(`POST /v1/orders -> ${res.statusCode} ${res.body}`);
  if (status < 300) {
    const read = await api(t, "GET", `/v1/orders/${res.json().id}`);
    expect(res.body).toBe(read.body);
  }
  return res.json();
}

export async function order(t: TestContext, id: number | string) {
  return ok(t, "GET", `/v1/orders/${id}`);
}

export async function act(t: TestContext, id: number | string, action: string, body?: unknown, status = 200) {
  return ok(t, "POST", `/v1/orders/${id}/${action}`, body, status);
}

export async function settings(t: TestContext, patch: Record<string, unknown>) {
  const res = await t.app.inject({
    method: "PUT",
    url: "/v1/settings/orders",
    headers: t.auth,
    payload: patch,
  });
  if (res.statusCode !== 200) throw new Error(`PUT settings -> ${res.statusCode} ${res.body}`);
  return res.json();
}

/** Ledger == balances, and what orders hold == what the buckets hold. */
export async function expectConsistent(t: TestContext) {
  await expectLedgerConsistent(t);
  expect(await auditOrderHolds(t.db)).toEqual({ levels: [], lines: [] });
}

/** Row counts that a refused request must leave unchanged. */
export async function snapshot(t: TestContext) {
  const tables = [
    "orders",
    "order_lines",
    "order_allocations",
    "order_timeline",
    "order_payments",
    "fulfillments",
    "inventory_movements",
    "outbox_events",
  ] as const;
  const out: Record<string, number> = {};
  for (const table of tables) {
    const row = await t.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .executeTakeFirstOrThrow();
    out[table] = Number(row.n);
  }
  const statuses = await t.db
    .selectFrom("orders")
    .select(["id", "status", "payment_status"])
    .orderBy("id")
    .execute();
  const levels = await t.db
    .selectFrom("inventory_levels")
    .select(["variant_id", "location_id", "on_hand", "reserved", "allocated"])
    .orderBy("variant_id")
    .orderBy("location_id")
    .execute();
  return { counts: out, statuses, levels };
}
