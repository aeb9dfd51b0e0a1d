import fs from "node:fs";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { WEB_DIST } from "../../src/http/web.js";
import { listen, type TestContext, testApp } from "../../test/helpers.js";

export const SCREENSHOTS = path.resolve(import.meta.dirname, "../../test-results/screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** A real Keel on a free port serving the built app, and Debian's Chromium to drive it. */
export interface BrowserRig {
  t: TestContext;
  /** http://localhost:<port>: a secure context, so the `__Host-` session cookie is kept. */
  base: string;
  browser: Browser;
  close(): Promise<void>;
}

export async function startRig(): Promise<BrowserRig> {
  if (!fs.existsSync(path.join(WEB_DIST, "index.html")))
    throw new Error("web/dist is missing: run `npm run test:browser` (it builds the app first)");
  const t = await testApp();
  const url = await listen(t);
  const base = url.replace("127.0.0.1", "localhost");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    t,
    base,
    browser,
    async close() {
      await browser.close();
      await t.close();
    },
  };
}

/** A fresh context (cookies of its own) and page that records every console error and page error. */
export async function openPage(
  rig: BrowserRig,
  opts: { viewport?: { width: number; height: number }; locale?: string } = {},
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await rig.browser.newContext({
    baseURL: rig.base,
    viewport: opts.viewport ?? { width: 1280, height: 800 },
    locale: opts.locale ?? "en-US",
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    // the one expected failure: the app asks GET /v1/me whether anyone is signed in, and a visitor gets 401
    if (m.text().includes("status of 401") && new URL(m.location().url).pathname === "/v1/me") return;
    errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  return { context, page, errors };
}

/** axe on the page as it is now: no serious or critical violation. */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  // a dialog or toast still fading in or out is half transparent, and axe measures its contrast as
  // it is that instant: let finite transitions finish first (never a spinner's endless one; 2 s at most)
  await page.evaluate(() =>
    Promise.race([
      Promise.all(
        document
          .getAnimations()
          .filter((a) => a.effect?.getComputedTiming().iterations !== Number.POSITIVE_INFINITY)
          .map((a) => a.finished.catch(() => undefined)),
      ),
      new Promise((r) => setTimeout(r, 2000)),
    ]),
  );
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const lines = bad.map(
    (v) => `${name}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
  if (lines.length) throw new Error(`axe found serious or critical violations:\n${lines.join("\n")}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
