import { afterAll, beforeAll, expect, it } from "vitest";
import { ok } from "../../test/shop.js";
import { type BrowserRig, expectAccessible, openPage, startRig } from "./browser.js";

const PASSWORD = "correct horse battery";
const PRODUCTS = 5;
const PER_PRODUCT = 250;
const sku = (p: number, v: number) => `GRID-${p}-${String(v).padStart(3, "0")}`;
let rig: BrowserRig;

beforeAll(async () => {
  rig = await startRig();
  const { t } = rig;
  await ok(t, "POST", "/v1/locations", { code: "WH1", name: "Main", kind: "warehouse" }, 201);
  const levels: { sku: string; location: string; on_hand: number }[] = [];
  for (let p = 0; p < PRODUCTS; p++) {
    const variants = Array.from({ length: PER_PRODUCT }, (_, v) => ({
      sku: sku(p, v),
      options: { Size: String(v) },
      price: 500,
      currency: "EUR",
    }));
    await ok(
      t,
      "POST",
      "/v1/products",
      { title: `Grid ${p}`, kind: "physical", status: "active", options: ["Size"], variants },
      201,
    );
    for (let v = 0; v < PER_PRODUCT; v++) levels.push({ sku: sku(p, v), location: "WH1", on_hand: v + 1 });
  }
  const fed = await ok(t, "POST", "/v1/integrations/stock", {
    source: "erp",
    as_of: new Date().toISOString(),
    levels,
  });
  expect(fed.applied).toBe(PRODUCTS * PER_PRODUCT);
  await ok(
    t,
    "POST",
    "/v1/users",
    { email: "ops@example.com", name: "Ops", roles: ["admin"], password: PASSWORD },
    201,
  );
});
afterAll(() => rig?.close());

it("the stock grid keeps only the visible rows in the DOM, loads more as it scrolls and updates live", async () => {
  const { page, errors, context } = await openPage(rig);
  await page.goto("/stock");
  await page.getByLabel("Email").fill("ops@example.com");
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Stock" }).waitFor();
  await page.locator('[data-live="open"]').waitFor();
  const rows = page.locator("[data-level]");
  await rows.first().waitFor();
  expect(await rows.count()).toBeLessThan(100);
  const region = page.getByRole("region", { name: "Stock" });
  const last = page.locator(`[data-level="${sku(PRODUCTS - 1, PER_PRODUCT - 1)}@WH1"]`);
  // scroll to the end until the last page has arrived and its last row is drawn
  await expect
    .poll(
      async () => {
        await region.evaluate((el) => el.scrollTo(0, el.scrollHeight));
        return last.count();
      },
      { timeout: 30_000, interval: 300 },
    )
    .toBe(1);
  await page.getByText(`${PRODUCTS * PER_PRODUCT} rows loaded`).waitFor();
  expect(await rows.count()).toBeLessThan(100);
  expect(await last.locator('[data-bucket="on_hand"]').textContent()).toBe(String(PER_PRODUCT));
  await expectAccessible(page, "stock-grid");

  // a change made elsewhere shows without a reload
  await ok(
    rig.t,
    "POST",
    "/v1/inventory/adjustments",
    {
      sku: sku(PRODUCTS - 1, PER_PRODUCT - 1),
      location: "WH1",
      delta: -50,
      reason: "shrinkage",
    },
    201,
  );
  await expect
    .poll(() => last.locator('[data-bucket="on_hand"]').textContent(), { timeout: 15_000 })
    .toBe("200");
  expect(errors).toEqual([]);
  await context.close();
});
