import "../db/schema-finance.js";
import type { TestContext } from "../../test/helpers.js";
import { ok } from "../../test/shop.js";
import type { InvoiceView } from "./invoices.js";

/** Helpers for the finance tests. */

export async function packed(t: TestContext, orderId: number, lines?: { sku: string; quantity: number }[]) {
  const f = await ok(t, "POST", `/v1/orders/${orderId}/fulfillments`, lines ? { lines } : {}, 201);
  await ok(t, "POST", `/v1/fulfillments/${f.id}/pick`);
  await ok(t, "POST", `/v1/fulfillments/${f.id}/pack`);
  return f.id as number;
}

export async function ship(t: TestContext, orderId: number, lines?: { sku: string; quantity: number }[]) {
  const id = await packed(t, orderId, lines);
  await ok(t, "POST", `/v1/fulfillments/${id}/ship`, { carrier: "DHL", tracking_number: `T${id}` });
  return id;
}

export async function invoicesOf(t: TestContext, orderId: number) {
  return (await ok<{ data: InvoiceView[] }>(t, "GET", `/v1/invoices?order_id=${orderId}`)).data;
}

/** Entries whose debits and credits differ: must always be empty. */
export async function unbalancedEntries(t: TestContext) {
  const r = await t.db
    .selectFrom("journal_lines")
    .select(["entry_id"])
    .select((eb) => [eb.fn.sum<number>("debit").as("d"), eb.fn.sum<number>("credit").as("c")])
    .groupBy("entry_id")
    .execute();
  return r.filter((x) => Number(x.d) !== Number(x.c));
}

export async function setTax(t: TestContext, body: unknown, status = 200) {
  return t.app
    .inject({ method: "PUT", url: "/v1/settings/tax", headers: t.auth, payload: body as object })
    .then((r) => {
      if (r.statusCode !== status) throw new Error(`PUT /v1/settings/tax -> ${r.statusCode} ${r.body}`);
      return r.json();
    });
}
