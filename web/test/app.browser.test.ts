import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok } from "../../test/shop.js";
import { type BrowserRig, expectAccessible, openPage, screenshot, startRig } from "./browser.js";
import { placeOrder, seedShop } from "./seed.js";

const PASSWORD = "correct horse battery";
let rig: BrowserRig;

beforeAll(async () => {
  rig = await startRig();
  await seedShop(rig);
  await ok(
    rig.t,
    "POST",
    "/v1/users",
    { email: "ops@example.com", name: "Ops", roles: ["admin"], password: PASSWORD },
    201,
  );
  await ok(
    rig.t,
    "POST",
    "/v1/users",
    { email: "picker@example.com", name: "Picker", roles: ["warehouse"], password: PASSWORD },
    201,
  );
});
afterAll(() => rig?.close());

async function signIn(page: Page, email = "ops@example.com") {
  await page.goto("/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Today", exact: true }).waitFor();
}

/** The level cell of one SKU × location × bucket in the stock grid. */
const cell = (page: Page, key: string, bucket: string) =>
  page.locator(`[data-level="${key}"] [data-bucket="${bucket}"]`);

describe("the admin app in Chromium", () => {
  it("signs in, shows the wrong-password problem in words, and signs out", async () => {
    const { page, errors, context } = await openPage(rig);
    await page.goto("/orders");
    await page.getByLabel("Email").fill("ops@example.com");
    await page.getByLabel(/^Password/).fill("not the password");
    await expectAccessible(page, "sign-in");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").getByText("The e-mail or the password is wrong").waitFor();
    await screenshot(page, "sign-in-error");
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    // the deep link it was opened at is where it lands
    await page.getByRole("heading", { name: "Orders" }).waitFor();
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === "__Host-keel_session")?.httpOnly).toBe(true);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    // the session is gone on the server too
    expect((await page.request.get("/v1/me")).status()).toBe(401);
    // the wrong password's 401 is the one failed request the browser reports
    expect(errors.filter((e) => !/status of 401 .*\/v1\/auth\/login/.test(e))).toEqual([]);
    await context.close();
  });

  it("adjusts stock: the level and the ledger change, with a running balance", async () => {
    const { page, errors, context } = await openPage(rig);
    await signIn(page);
    await page.getByRole("link", { name: "Stock", exact: true }).click();
    await expect.poll(() => cell(page, "TEE-M@WH1", "on_hand").textContent()).toBe("10");
    await expectAccessible(page, "stock");
    await screenshot(page, "stock");
    await page.locator('[data-level="TEE-M@WH1"]').getByRole("button", { name: "Adjust" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Change (+ or −)").fill("-3");
    await dialog.getByLabel("Reason").click();
    await page.getByRole("option", { name: /^damage/ }).click();
    await dialog.getByLabel("Reference").fill("DMG-7");
    await expectAccessible(page, "adjust");
    await dialog.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => cell(page, "TEE-M@WH1", "on_hand").textContent()).toBe("7");
    await expect.poll(() => cell(page, "TEE-M@WH1", "available").textContent()).toBe("7");
    // what the server holds, not only what the page shows
    const level = await ok(rig.t, "GET", "/v1/inventory/levels?sku=TEE-M&location=WH1");
    expect(level.data[0].on_hand).toBe(7);

    await page.getByRole("link", { name: "TEE-M" }).click();
    await page.getByRole("heading", { name: "Stock ledger" }).waitFor();
    const newest = page.locator("[data-movement]").first();
    await expect.poll(() => newest.textContent()).toContain("DMG-7");
    expect(await newest.locator("[data-balance]").textContent()).toBe("7");
    expect(await page.locator("[data-movement]").nth(1).locator("[data-balance]").textContent()).toBe("10");
    await expectAccessible(page, "ledger");
    await screenshot(page, "ledger");
    // filtered by reason: only that movement, no balance column (it would not add up)
    await page.getByLabel("Reason").first().click();
    await page.getByRole("option", { name: "damage", exact: true }).click();
    await expect.poll(() => page.locator("[data-movement]").count()).toBe(1);
    expect(await page.locator("[data-balance]").count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("an order placed through the API appears without reload; approving it in the UI approves it", async () => {
    const { page, errors, context } = await openPage(rig);
    await signIn(page);
    await page.locator('[data-live="open"]').waitFor();
    await page.goto("/orders?status=received");
    await page.getByRole("heading", { name: "Orders" }).waitFor();
    await page.locator('[data-live="open"]').waitFor();
    const order = await placeOrder(rig);
    expect(order.status).toBe("received");
    const row = page.locator(`[data-order="${order.number}"]`);
    await row.waitFor({ timeout: 15_000 });
    await expectAccessible(page, "orders");
    await screenshot(page, "orders");
    await row.getByRole("checkbox").check();
    await page.getByRole("toolbar").getByRole("button", { name: "Approve" }).click();
    // it leaves the "received" list, and the server agrees
    await row.waitFor({ state: "detached" });
    await expect.poll(async () => (await ok(rig.t, "GET", `/v1/orders/${order.id}`)).status).toBe("approved");

    await page.goto(`/orders/${order.id}`);
    await page.getByRole("heading", { name: `Order ${order.number}` }).waitFor();
    await page.getByText("Approved · approve").waitFor();
    await expectAccessible(page, "order");
    await screenshot(page, "order");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("picks, packs and ships by typed scans on a phone-sized screen", async () => {
    const order = await placeOrder(rig, [
      { sku: "TEE-S", quantity: 2, unit_price: 1999 },
      { sku: "TEE-M", quantity: 1, unit_price: 1999 },
    ]);
    await ok(rig.t, "POST", `/v1/orders/${order.id}/approve`, {});
    const f = await ok(rig.t, "POST", `/v1/orders/${order.id}/fulfillments`, {}, 201);
    const { page, errors, context } = await openPage(rig, { viewport: { width: 390, height: 844 } });
    await signIn(page, "picker@example.com");
    // the warehouse role has no order approval: the menu and the pages do not offer it
    await page.getByRole("button", { name: "Open the menu" }).click();
    await page.getByRole("link", { name: "Pick and pack" }).click();
    const scan = page.getByRole("textbox", { name: "Scan" });
    await expect.poll(() => scan.evaluate((el) => el === document.activeElement)).toBe(true);
    await expectAccessible(page, "pick");
    const type = async (code: string) => {
      await scan.fill(code);
      await scan.press("Enter");
    };
    await type(order.number);
    await page.locator(`[data-fulfilment="${f.id}"]`).waitFor();
    await type("NOPE-1");
    await page.getByRole("alert").getByText("“NOPE-1” is not on this fulfilment.").waitFor();
    await type("4006381333931"); // TEE-S by its barcode
    await type("TEE-S");
    await type("TEE-M");
    await page.getByText("Everything is picked: pack it.").waitFor();
    await screenshot(page, "pick");
    await page.getByRole("button", { name: "Packed" }).click();
    await page.getByLabel("Carrier").fill("Yurtiçi");
    await type("YK123456789TR"); // the parcel label's barcode goes to the tracking number
    expect(await page.getByLabel("Tracking number").inputValue()).toBe("YK123456789TR");
    await page.getByRole("button", { name: "Ship" }).click();
    await page.getByText(`Fulfilment ${f.id} shipped.`).waitFor();
    const shipped = await ok(rig.t, "GET", `/v1/orders/${order.id}`);
    expect(shipped.status).toBe("shipped");
    expect(shipped.fulfillments[0].tracking_number).toBe("YK123456789TR");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("Today counts the queues, in Turkish too; a warehouse user is not offered order actions", async () => {
    await placeOrder(rig);
    const { page, errors, context } = await openPage(rig);
    await signIn(page);
    const toApprove = page.locator('[data-queue="toApprove"] [data-count]');
    await expect.poll(() => toApprove.textContent()).toBe("1");
    await expectAccessible(page, "today");
    await screenshot(page, "today");
    await page.getByLabel("Language").first().click();
    await page.getByRole("option", { name: "Türkçe" }).click();
    await page.getByRole("heading", { name: "Bugün", exact: true }).waitFor();
    expect(await page.locator("html").getAttribute("lang")).toBe("tr");
    await expectAccessible(page, "today-tr");
    await screenshot(page, "today-tr");
    await context.close();

    const picker = await openPage(rig);
    await signIn(picker.page, "picker@example.com");
    await picker.page.goto("/orders?status=received");
    await picker.page.locator("[data-order]").first().waitFor();
    expect(await picker.page.getByRole("checkbox").count()).toBe(0);
    await picker.page.locator("[data-order] a").first().click();
    await picker.page.getByRole("heading", { name: /^Order / }).waitFor();
    expect(await picker.page.getByRole("button", { name: "Approve" }).count()).toBe(0);
    expect(await picker.page.getByRole("button", { name: "Cancel order" }).count()).toBe(0);
    expect([...errors, ...picker.errors]).toEqual([]);
    await picker.context.close();
  });
});
