import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inTransaction } from "../../src/db/tx.js";
import { recordFailure } from "../../src/integrations/monitor/failures.js";
import { ok } from "../../test/shop.js";
import { type BrowserRig, expectAccessible, openPage, screenshot, startRig } from "./browser.js";
import { placeOrder, seedShop } from "./seed.js";

const PASSWORD = "correct horse battery";
let rig: BrowserRig;

beforeAll(async () => {
  rig = await startRig();
  await seedShop(rig);
  for (const [email, role] of [
    ["boss@example.com", "admin"],
    ["hands@example.com", "warehouse"],
  ])
    await ok(rig.t, "POST", "/v1/users", { email, name: role, roles: [role], password: PASSWORD }, 201);
});
afterAll(() => rig?.close());

async function signIn(page: Page, email = "boss@example.com") {
  await page.goto("/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Today", exact: true }).waitFor();
}

const level = async (sku: string) =>
  (await ok(rig.t, "GET", `/v1/inventory/levels?sku=${sku}&location=WH1`)).data[0] as Record<string, number>;

/** An order placed, approved, picked, packed and shipped through the API. */
async function shippedOrder(sku: string, quantity: number) {
  const order = await placeOrder(rig, [{ sku, quantity, unit_price: 1999 }]);
  await ok(rig.t, "POST", `/v1/orders/${order.id}/approve`, {});
  await ok(rig.t, "POST", `/v1/orders/${order.id}/payments`, { status: "paid", amount: 1999 * quantity });
  const f = await ok(rig.t, "POST", `/v1/orders/${order.id}/fulfillments`, {}, 201);
  for (const step of ["pick", "pack"]) await ok(rig.t, "POST", `/v1/fulfillments/${f.id}/${step}`, {});
  await ok(rig.t, "POST", `/v1/fulfillments/${f.id}/ship`, { carrier: "PTT", tracking_number: `T-${f.id}` });
  return order;
}

describe("the operations pages in Chromium", () => {
  it("turns a replenishment suggestion into a PO, submits it and receives part of it by scan", async () => {
    await ok(
      rig.t,
      "POST",
      "/v1/products",
      {
        title: "Mug",
        kind: "physical",
        status: "active",
        variants: [{ sku: "MUG", price: 900, currency: "EUR", barcode: "8690000000012" }],
      },
      201,
    );
    await ok(
      rig.t,
      "POST",
      "/v1/inventory/adjustments",
      { sku: "MUG", location: "WH1", delta: 2, reason: "initial" },
      201,
    );
    await ok(rig.t, "POST", "/v1/suppliers", { code: "MUGCO", name: "Mug Co", lead_time_days: 5 }, 201);
    await ok(rig.t, "POST", "/v1/suppliers/MUGCO/items", { sku: "MUG", cost: 300 }, 201);
    await ok(
      rig.t,
      "POST",
      "/v1/reorder-rules",
      { sku: "MUG", location: "WH1", reorder_point: 5, max: 20 },
      201,
    );

    const { page, errors, context } = await openPage(rig);
    await signIn(page);
    await page.getByRole("link", { name: "Purchasing", exact: true }).click();
    await page.getByRole("heading", { name: "Purchasing" }).waitFor();
    await page.getByRole("tab", { name: "Suggestions" }).click();
    const row = page.locator('[data-suggestion="MUG"]');
    await row.waitFor();
    await expectAccessible(page, "suggestions");
    await screenshot(page, "purchasing-suggestions");
    await row.getByRole("checkbox", { name: "Order MUG" }).check();
    await page.getByRole("button", { name: "Create a draft PO from 1 suggestion" }).click();
    await page.getByRole("heading", { name: /^Purchase order / }).waitFor();
    await page.getByRole("button", { name: "Submit to supplier" }).click();
    await page.locator('[data-status="submitted"]').waitFor();
    expect((await level("MUG")).incoming).toBe(18);

    const scan = page.getByRole("textbox", { name: "Scan item" });
    await expect.poll(() => scan.evaluate((el) => el === document.activeElement)).toBe(true);
    for (const code of ["MUG", "8690000000012", "MUG", "NOPE"]) {
      await scan.fill(code);
      await scan.press("Enter");
    }
    await page.getByRole("alert").getByText("“NOPE” is not on this purchase order.").waitFor();
    await expectAccessible(page, "receiving");
    await screenshot(page, "receiving");
    await page.getByRole("button", { name: "Book receipt of 3 units" }).click();
    await page.locator('[data-status="partially_received"]').waitFor();
    expect(await page.locator('[data-line="MUG"] [data-received]').textContent()).toBe("3");
    const po = (await ok(rig.t, "GET", "/v1/purchase-orders?supplier=MUGCO")).data[0];
    expect(po.status).toBe("partially_received");
    expect(po.lines[0].received).toBe(3);
    const after = await level("MUG");
    expect(after.on_hand).toBe(5);
    expect(after.incoming).toBe(15);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("a return is authorised, received and restocked; the warehouse role is not offered refunds", async () => {
    const order = await shippedOrder("TEE-S", 1);
    const before = (await level("TEE-S")).on_hand;
    const ret = await ok(
      rig.t,
      "POST",
      "/v1/returns",
      { order_id: order.id, lines: [{ sku: "TEE-S", quantity: 1, reason: "does_not_fit" }] },
      201,
    );
    const { page, errors, context } = await openPage(rig);
    await signIn(page);
    await page.getByRole("link", { name: "Returns", exact: true }).click();
    await page.locator(`[data-return="${ret.number}"]`).getByRole("link", { name: ret.number }).click();
    await page.getByRole("heading", { name: `Return ${ret.number}` }).waitFor();
    await page.getByRole("button", { name: "Authorise" }).click();
    await page.locator('[data-status="authorised"]').waitFor();
    await expectAccessible(page, "return");
    await page.getByRole("button", { name: "Receive and inspect" }).click();
    await page.locator('[data-status="inspected"]').waitFor();
    await expect
      .poll(() => page.locator('[data-line="TEE-S"] [data-inspected]').textContent())
      .toContain("1 Restock");
    await page.getByRole("button", { name: "Refund" }).waitFor();
    await screenshot(page, "return");
    expect((await ok(rig.t, "GET", `/v1/returns/${ret.id}`)).status).toBe("inspected");
    expect((await level("TEE-S")).on_hand).toBe(before + 1);
    expect(errors).toEqual([]);
    await context.close();

    const hands = await openPage(rig);
    await signIn(hands.page, "hands@example.com");
    await hands.page.goto(`/returns/${ret.id}`);
    await hands.page.getByRole("heading", { name: `Return ${ret.number}` }).waitFor();
    expect(await hands.page.getByRole("button", { name: "Refund" }).count()).toBe(0);
    expect(await hands.page.getByRole("region", { name: "Refunds" }).count()).toBe(0);
    expect(hands.errors).toEqual([]);
    await hands.context.close();
  });

  it("a blind cycle count by scan posts its variance to the level", async () => {
    const { page, errors, context } = await openPage(rig);
    await signIn(page);
    await page.getByRole("link", { name: "Cycle counts", exact: true }).click();
    await page.getByRole("heading", { name: "Cycle counts" }).waitFor();
    await page.getByRole("combobox", { name: /^Location/ }).click();
    await page.getByRole("option", { name: "WH1" }).click();
    await page.getByLabel("SKUs (optional)").fill("TEE-M");
    await expectAccessible(page, "counts");
    await page.getByRole("button", { name: "Start count" }).click();
    await page.getByRole("heading", { name: /^Count #\d+ at WH1/ }).waitFor();
    // blind: the books stay hidden while counting
    expect(await page.locator('[data-line="TEE-M"]').textContent()).toContain("•••");
    const scan = page.getByRole("textbox", { name: "Scan item" });
    for (let i = 0; i < 4; i++) {
      await scan.fill("TEE-M");
      await scan.press("Enter");
    }
    await page.getByText("TEE-M: 4 counted").waitFor();
    await expectAccessible(page, "count");
    await screenshot(page, "count");
    await page.getByRole("button", { name: "Save count of 1 SKU" }).click();
    await expect.poll(() => page.locator('[data-line="TEE-M"] [data-counted]').textContent()).toBe("4");
    await page.getByRole("button", { name: "Submit count" }).click();
    await expect.poll(() => page.locator('[data-line="TEE-M"] [data-variance]').textContent()).toBe("-6");
    const approve = page.getByRole("button", { name: "Approve variances" });
    if (await approve.count()) await approve.click();
    await page.locator('[data-status="approved"]').waitFor();
    expect((await level("TEE-M")).on_hand).toBe(4);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("reports draw a chart and drill down to the orders behind a figure; alerts list", async () => {
    await placeOrder(rig);
    const { page, errors, context } = await openPage(rig);
    await signIn(page);
    // Today: the dashboard's figures and the chart of open work, loaded after the queues
    await page.locator("[data-chart] .recharts-surface").first().waitFor();
    await expect.poll(() => page.locator("[data-orders-today]").textContent()).not.toBe("0");
    await expectAccessible(page, "today-chart");
    await screenshot(page, "today-chart");
    await page.getByRole("link", { name: "Reports", exact: true }).click();
    await page.getByRole("heading", { name: "Reports" }).waitFor();
    await page.locator("[data-report-row]").first().waitFor();
    await page.locator("[data-chart] .recharts-surface").first().waitFor();
    // the chart shows the order counts (not an empty column), one bar per status
    expect(await page.getByRole("combobox", { name: "Chart" }).inputValue()).toBe("orders");
    await expect
      .poll(() => page.locator("[data-chart] .recharts-bar-rectangle path").count())
      .toBeGreaterThan(0);
    await expectAccessible(page, "reports");
    await screenshot(page, "reports");
    const received = page.locator("[data-report-row]", { hasText: "received" }).first();
    await received.getByRole("link", { name: "Rows" }).click();
    await page.getByRole("heading", { name: "Orders" }).waitFor();
    await page.locator("tr[data-order]").first().waitFor();
    expect(new URL(page.url()).searchParams.get("status")).toBe("received");
    await page.goto("/reports?tab=alerts");
    await page.getByRole("combobox", { name: "Alerts" }).waitFor();
    await expectAccessible(page, "alerts");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("integration health shows channels and open failures", async () => {
    await ok(
      rig.t,
      "POST",
      "/v1/channels",
      { kind: "manual", name: "Pazaryeri", code: "pazar", config: {} },
      201,
    );
    await inTransaction(rig.t.db, (tx) =>
      recordFailure(tx, {
        source: "stock-feed",
        operation: "import",
        subject: "MUG@WH1",
        error: "ERP timed out",
      }),
    );
    const { page, errors, context } = await openPage(rig);
    await signIn(page);
    await page.getByRole("link", { name: "Integrations", exact: true }).click();
    await page.getByRole("heading", { name: "Integrations" }).waitFor();
    await expect.poll(() => page.locator("[data-open-failures]").textContent()).toBe("1");
    await page.locator('[data-channel="pazar"] [data-status]').waitFor();
    await page.getByLabel(/^Name/).fill("Hepsi Pazar");
    await page.getByLabel("Code", { exact: true }).fill("hepsi");
    await page.getByRole("button", { name: "Add channel" }).click();
    await page.locator('[data-channel="hepsi"] [data-status]').waitFor();
    const channels = (await ok(rig.t, "GET", "/v1/channels")).data as { code: string; kind: string }[];
    expect(channels.find((c) => c.code === "hepsi")?.kind).toBe("manual");
    await page.locator("[data-failure]", { hasText: "ERP timed out" }).waitFor();
    // a webhook subscription: added (its secret shown once), its deliveries, removed
    await page.getByLabel(/^URL/).fill("https://erp.example/keel");
    await page.getByRole("button", { name: "Add webhook" }).click();
    await page.locator("[data-secret] pre").waitFor();
    const sub = (await ok(rig.t, "GET", "/v1/webhook-subscriptions")).data[0];
    expect(sub.url).toBe("https://erp.example/keel");
    expect(sub.events).toEqual(["order.*"]);
    const row = page.locator(`[data-subscription="${sub.id}"]`);
    await row.getByRole("button", { name: "Deliveries" }).click();
    await page.getByText("No deliveries yet.").waitFor();
    await expectAccessible(page, "integrations");
    await screenshot(page, "integrations");
    await row.getByRole("button", { name: "Remove" }).click();
    await row.waitFor({ state: "detached" });
    expect((await ok(rig.t, "GET", "/v1/webhook-subscriptions")).data).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("users and roles: adds a user with a role; the audit trail shows it", async () => {
    const { page, errors, context } = await openPage(rig);
    await signIn(page);
    await page.getByRole("link", { name: "Users and audit", exact: true }).click();
    await page.locator('[data-user="hands@example.com"]').waitFor();
    await expectAccessible(page, "users");
    await screenshot(page, "users");
    await page.getByRole("button", { name: "Add user" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Email").fill("counter@example.com");
    await dialog.getByLabel("Name").fill("Counter");
    // the dialog animates in: open the role list once it holds still
    const option = page.getByRole("option", { name: "inventory_control" });
    await expect
      .poll(async () => {
        if (!(await option.isVisible()))
          await dialog.getByRole("combobox", { name: "Roles" }).click({ force: true });
        return option.isVisible();
      })
      .toBe(true);
    await option.click();
    await dialog.getByLabel(/^Password/).fill(PASSWORD);
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.locator('[data-user="counter@example.com"]').waitFor();
    const users = (await ok(rig.t, "GET", "/v1/users")).data as { email: string; roles: string[] }[];
    expect(users.find((u) => u.email === "counter@example.com")?.roles).toEqual(["inventory_control"]);
    await page.getByRole("tab", { name: "Roles" }).click();
    await page.locator('[data-role="warehouse"]').waitFor();
    expect(await page.locator('[data-role="warehouse"]').textContent()).not.toContain("refund:request");
    await page.getByRole("tab", { name: "API keys" }).click();
    await page.getByLabel(/^Key name/).fill("erp-sync");
    const warehouse = page.getByRole("option", { name: "warehouse" });
    await expect
      .poll(async () => {
        if (!(await warehouse.isVisible()))
          await page.getByRole("combobox", { name: "Roles" }).click({ force: true });
        return warehouse.isVisible();
      })
      .toBe(true);
    await warehouse.click();
    await page.keyboard.press("Escape");
    await page.getByRole("button", { name: "Create API key" }).click();
    const shownKey = await page.locator("[data-key-shown] pre").textContent();
    expect(shownKey).toMatch(/^keel_/);
    const key = (
      (await ok(rig.t, "GET", "/v1/api-keys")).data as { id: number; name: string; roles: string[] }[]
    ).find((k) => k.name === "erp-sync");
    expect(key?.roles).toEqual(["warehouse"]);
    await page.locator('[data-api-key="erp-sync"]').getByRole("button", { name: "Revoke" }).click();
    await page.locator('[data-api-key="erp-sync"]', { hasText: "revoked" }).waitFor();
    const me = await rig.t.app.inject({
      method: "GET",
      url: "/v1/me",
      headers: { authorization: `Bearer ${shownKey}` },
    });
    expect(me.statusCode).toBe(401);
    await page.getByRole("tab", { name: "Audit trail" }).click();
    await page.locator("[data-audit]").first().waitFor();
    await expectAccessible(page, "audit");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("the command palette opens an order by its typed or scanned number; g then s goes to stock", async () => {
    const order = await placeOrder(rig);
    const { page, errors, context } = await openPage(rig);
    await signIn(page);
    await page.keyboard.press("Control+K");
    const search = page.getByRole("textbox", { name: "Search and commands" });
    await search.waitFor();
    await search.fill(order.number);
    await expectAccessible(page, "palette");
    await screenshot(page, "palette");
    await page.getByRole("button", { name: `Open order ${order.number}` }).click();
    await page.getByRole("heading", { name: `Order ${order.number}` }).waitFor();
    await page.locator("body").click({ position: { x: 5, y: 300 } });
    await page.keyboard.press("g");
    await page.keyboard.press("s");
    await page.getByRole("heading", { name: "Stock", exact: true }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/stock");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("creates a product with variants and a location, transfers stock there and receives it; settings", async () => {
    const { page, errors, context } = await openPage(rig);
    await signIn(page);
    await page.getByRole("link", { name: "Catalog", exact: true }).click();
    await page.getByRole("heading", { name: "Catalog" }).waitFor();
    await page.getByRole("button", { name: "New product" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel(/^Title/).fill("Hoodie");
    await dialog.getByLabel("Option name").fill("Size");
    await dialog.getByLabel(/^SKU of variant 1/).fill("HOOD-S");
    await dialog.getByLabel(/^Size of variant 1/).fill("S");
    await dialog.getByLabel(/^Price 1/).fill("49.90");
    await dialog.getByLabel("Barcode 1").fill("8690000000029");
    await dialog.getByRole("button", { name: "Add a variant" }).click();
    await dialog.getByLabel(/^SKU of variant 2/).fill("HOOD-M");
    await dialog.getByLabel(/^Size of variant 2/).fill("M");
    await dialog.getByLabel(/^Price 2/).fill("49.90");
    await expectAccessible(page, "new-product");
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.locator('[data-product="Hoodie"] [data-sku="HOOD-M"]').waitFor();
    // axe on a dialog still fading out finds its half-transparent labels too pale: wait until it is gone
    await dialog.waitFor({ state: "hidden" });
    const hood = await ok(rig.t, "GET", "/v1/variants/HOOD-S");
    expect([hood.price, hood.barcode, hood.options.Size]).toEqual([4990, "8690000000029", "S"]);
    await expectAccessible(page, "catalog");
    await screenshot(page, "catalog");
    await page.getByRole("tab", { name: "Locations" }).click();
    await page.getByLabel(/^Code/).fill("WH2");
    await page.getByLabel(/^Name/).fill("Second warehouse");
    await page.getByRole("button", { name: "Add location" }).click();
    await page.locator('[data-location="WH2"]').waitFor();

    const before = (await level("TEE-S")).on_hand;
    await page.getByRole("link", { name: "Transfers", exact: true }).click();
    await page.getByRole("combobox", { name: /^From/ }).click();
    await page.getByRole("option", { name: "WH1" }).click();
    await page.getByRole("combobox", { name: /^To/ }).click();
    await page.getByRole("option", { name: "WH2" }).click();
    await page.getByLabel(/^SKU/).fill("TEE-S");
    await page.getByLabel("Quantity").fill("2");
    await expectAccessible(page, "transfers");
    await page.getByRole("button", { name: "Send" }).click();
    const card = page.locator("[data-transfer]");
    await card.waitFor();
    await card.getByRole("button", { name: "Receive everything outstanding" }).click();
    await expect.poll(() => card.textContent()).toContain("2 / 2");
    expect((await level("TEE-S")).on_hand).toBe(before - 2);
    const there = (await ok(rig.t, "GET", "/v1/inventory/levels?sku=TEE-S&location=WH2")).data[0];
    expect(there.on_hand).toBe(2);

    await page.getByRole("link", { name: "Settings", exact: true }).click();
    await page.getByRole("heading", { name: "Settings" }).waitFor();
    await page.locator('[data-receiving="WH2"]').getByRole("switch").click({ force: true });
    await expect
      .poll(
        async () =>
          (await ok(rig.t, "GET", "/v1/receiving-settings")).data.find(
            (r: { location: string }) => r.location === "WH2",
          )?.inspect,
      )
      .toBe(true);
    await expectAccessible(page, "settings");
    await screenshot(page, "settings");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("orders: a saved view, a printed pick list; an order's returns (request one) and invoices", async () => {
    await placeOrder(rig);
    await placeOrder(rig);
    const shipped = await shippedOrder("TEE-M", 1);
    const { page, errors, context } = await openPage(rig);
    await signIn(page);
    await page.goto("/orders?status=received");
    await page.locator("tr[data-order]").first().waitFor();
    await page.getByRole("button", { name: "Save this view" }).click();
    await page.getByLabel("Name of the view").fill("To approve");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.goto("/orders");
    await page.getByRole("heading", { name: "Orders" }).waitFor();
    await page.getByRole("combobox", { name: "Saved views" }).click();
    await page.getByRole("option", { name: "To approve" }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get("status")).toBe("received");
    await expectAccessible(page, "orders-views");

    const received = (await ok(rig.t, "GET", "/v1/orders?status=received&limit=100")).data as {
      id: number;
    }[];
    await expect.poll(() => page.locator("tr[data-order]").count()).toBe(received.length);
    await page.getByRole("checkbox", { name: "Select every order shown" }).check();
    await page.getByRole("toolbar").getByRole("button", { name: "Print pick list" }).click();
    await page.getByRole("heading", { name: `Pick list for ${received.length} orders` }).waitFor();
    let units = 0;
    for (const { id } of received)
      for (const l of (await ok(rig.t, "GET", `/v1/orders/${id}`)).lines)
        if (l.sku === "TEE-S") units += l.quantity;
    expect(
      Number(await page.locator('[data-pick="TEE-S"] [data-quantity]').first().textContent()),
    ).toBeGreaterThan(0);
    const shown = await page.locator('[data-pick="TEE-S"] [data-quantity]').allTextContents();
    expect(shown.reduce((n, x) => n + Number(x), 0)).toBe(units);
    await expectAccessible(page, "pick-list");
    await screenshot(page, "pick-list");

    await page.goto(`/orders/${shipped.id}`);
    await page.getByRole("heading", { name: `Order ${shipped.number}` }).waitFor();
    await page.getByText("No returns.").waitFor();
    const invoices = (await ok(rig.t, "GET", `/v1/invoices?order_id=${shipped.id}`)).data as {
      number: string;
    }[];
    await expect.poll(() => page.locator("[data-invoice]").count()).toBe(invoices.length);
    await page.getByRole("combobox", { name: "Reason" }).click();
    await page.getByRole("option", { name: "does_not_fit" }).click();
    await expectAccessible(page, "order-extras");
    await page.getByRole("button", { name: "Request a return" }).click();
    await page.getByRole("heading", { name: /^Return R-/ }).waitFor();
    const rets = (await ok(rig.t, "GET", `/v1/returns?order_id=${shipped.id}`)).data;
    expect(rets).toHaveLength(1);
    expect(rets[0].units).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("a location that receives through inspection books a receipt into quarantine", async () => {
    await ok(
      rig.t,
      "POST",
      "/v1/locations",
      { code: "QC1", name: "Inspection dock", kind: "warehouse" },
      201,
    );
    await ok(rig.t, "POST", "/v1/receiving-settings", { location: "QC1", inspect: true });
    await ok(
      rig.t,
      "POST",
      "/v1/products",
      {
        title: "Jug",
        kind: "physical",
        status: "active",
        variants: [{ sku: "JUG", price: 1500, currency: "EUR" }],
      },
      201,
    );
    await ok(rig.t, "POST", "/v1/suppliers", { code: "JUGCO", name: "Jug Co", lead_time_days: 3 }, 201);
    await ok(rig.t, "POST", "/v1/suppliers/JUGCO/items", { sku: "JUG", cost: 400 }, 201);
    const po = await ok(
      rig.t,
      "POST",
      "/v1/purchase-orders",
      { supplier: "JUGCO", location: "QC1", lines: [{ sku: "JUG", quantity: 4 }] },
      201,
    );
    await ok(rig.t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    const { page, errors, context } = await openPage(rig);
    await signIn(page, "hands@example.com");
    await page.goto(`/purchasing/${po.id}`);
    await page.getByRole("heading", { name: `Purchase order ${po.number}` }).waitFor();
    // the warehouse role receives but does not buy: no submit, cancel or close
    expect(await page.getByRole("button", { name: "Cancel PO" }).count()).toBe(0);
    await page.getByLabel("Units of JUG in this receipt").fill("4");
    await page.getByRole("button", { name: "Book receipt of 4 units" }).click();
    await page.getByText("4 units received into quarantine for inspection").waitFor();
    const lvl = (await ok(rig.t, "GET", "/v1/inventory/levels?sku=JUG&location=QC1")).data[0];
    expect([lvl.quarantine, lvl.on_hand, lvl.incoming]).toEqual([4, 0, 0]);
    expect((await ok(rig.t, "GET", `/v1/purchase-orders/${po.id}`)).status).toBe("received");
    expect(errors).toEqual([]);
    await context.close();
  });
});
