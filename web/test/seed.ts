import { expect } from "vitest";
import { ok } from "../../test/shop.js";
import type { BrowserRig } from "./browser.js";

/** A small shop for the browser tests: one warehouse, a T-shirt in two sizes, stock on hand. */
export async function seedShop(rig: BrowserRig) {
  const { t } = rig;
  // orders wait for someone to approve them, as most shops run it
  const settings = await t.app.inject({
    method: "PUT",
    url: "/v1/settings/orders",
    headers: t.auth,
    payload: { auto_approve: false },
  });
  expect(settings.statusCode).toBe(200);
  await ok(t, "POST", "/v1/locations", { code: "WH1", name: "Main warehouse", kind: "warehouse" }, 201);
  await ok(
    t,
    "POST",
    "/v1/products",
    {
      title: "Tee",
      kind: "physical",
      status: "active",
      options: ["Size"],
      variants: [
        { sku: "TEE-S", options: { Size: "S" }, price: 1999, currency: "EUR", barcode: "4006381333931" },
        { sku: "TEE-M", options: { Size: "M" }, price: 1999, currency: "EUR" },
      ],
    },
    201,
  );
  for (const sku of ["TEE-S", "TEE-M"])
    await ok(
      t,
      "POST",
      "/v1/inventory/adjustments",
      { sku, location: "WH1", delta: 10, reason: "initial" },
      201,
    );
}

let n = 0;
/** An order placed through the API, as a channel would. */
export async function placeOrder(rig: BrowserRig, lines = [{ sku: "TEE-S", quantity: 2, unit_price: 1999 }]) {
  n++;
  const order = await ok(
    rig.t,
    "POST",
    "/v1/orders",
    {
      channel: "manual",
      external_id: `B-${Date.now()}-${n}`,
      currency: "EUR",
      lines,
      customer: { email: `buyer${n}@example.com`, name: "Ayşe Yılmaz" },
      shipping_address: { country: "TR", city: "İstanbul", line1: "Bağdat Cd. 1", postal_code: "34710" },
    },
    201,
  );
  expect(order.status).toBeDefined();
  return order as { id: number; number: string; status: string };
}
