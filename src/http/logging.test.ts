import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "../../test/helpers.js";
import { createUser } from "../access/users.js";
import { createDb, type DB } from "../db/pool.js";
import { inTransaction } from "../db/tx.js";
import { type App, buildApp } from "./app.js";
import { createApiKey } from "./auth.js";

const PASSWORD = "log-test horse battery";
const ACCESS_TOKEN = "shpat_logtest_0123456789abcdef";
const WEBHOOK_SECRET = "whsec-logtest-fedcba9876543210";

let app: App;
let db: DB;
let drop: () => Promise<void>;
let key: string;
const lines: string[] = [];

beforeAll(async () => {
  const database = await testDatabase();
  drop = database.drop;
  db = createDb(database.url, 4);
  app = await buildApp({
    db,
    dispatch: false,
    webDist: false,
    logger: { level: "trace", stream: { write: (line: string) => void lines.push(line) } },
  });
  await app.ready();
  key = (await createApiKey(db, "log-test")).key;
  await inTransaction(db, (tx) =>
    createUser(tx, { email: "logs@example.com", name: "Logs", roles: ["admin"], password: PASSWORD }),
  );
});
afterAll(async () => {
  await app.close();
  await db.destroy();
  await drop();
});

describe("logs", () => {
  it("never hold a password, a secret, a key or a session token", async () => {
    const bad = await app.inject({
      method: "POST",
      url: "/v1/auth/login",
      payload: { email: "logs@example.com", password: `${PASSWORD}-wrong` },
    });
    expect(bad.statusCode).toBe(401);
    const login = await app.inject({
      method: "POST",
      url: "/v1/auth/login",
      payload: { email: "logs@example.com", password: PASSWORD },
    });
    expect(login.statusCode).toBe(200);
    const cookie = String(login.headers["set-cookie"]).split(";")[0] as string;
    const session = cookie.split("=")[1] as string;
    const csrf = login.json().csrf_token as string;

    const created = await app.inject({
      method: "POST",
      url: "/v1/channels",
      headers: { authorization: `Bearer ${key}` },
      payload: {
        code: "log-shop",
        kind: "shopify",
        name: "Log shop",
        config: { access_token: ACCESS_TOKEN, webhook_secret: WEBHOOK_SECRET },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const viaSession = await app.inject({
      method: "GET",
      url: "/v1/channels",
      headers: { cookie, "x-csrf-token": csrf },
    });
    expect(viaSession.statusCode).toBe(200);

    // what a handler or plugin might log on its own: redacted by field name, however nested
    app.log.error(
      {
        req: { headers: { authorization: `Bearer ${key}`, cookie, "x-csrf-token": csrf } },
        res: { headers: { "set-cookie": cookie } },
        body: { password: PASSWORD, config: { access_token: ACCESS_TOKEN, webhook_secret: WEBHOOK_SECRET } },
      },
      "a request that failed",
    );

    const text = lines.join("");
    expect(lines.length).toBeGreaterThan(8); // the requests were logged (incoming, completed)
    expect(text).toContain("[redacted]");
    for (const secret of [PASSWORD, ACCESS_TOKEN, WEBHOOK_SECRET, key, session, csrf]) {
      expect(text, `a log line holds ${secret.slice(0, 8)}…`).not.toContain(secret);
    }
  });
});
