import { defineConfig } from "vitest/config";

// The admin app in a real browser (Debian's Chromium via playwright-core) against a real Keel.
// Not part of `npm test`: run with `npm run test:browser` (it builds web/dist first when stale).
export default defineConfig({
  root: `${import.meta.dirname}/..`,
  test: {
    include: ["web/test/**/*.browser.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
