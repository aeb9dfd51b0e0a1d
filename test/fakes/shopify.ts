import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type Field, type Operation, parseOperation, type Value } from "./graphql-lite.js";
import { deep, GraphQLError, orderNode, orderWebhookBody, type ShopOrder } from "./shopify-orders.js";

export type { ShopOrder };

/**
 * A local Shopify Admin GraphQL server for tests and benchmarks, implementing
 * what Keel calls, as documented (shared/reference/shopify-woocommerce.md):
 *
 * - `POST /admin/api/<version>/graphql.json` with `X-Shopify-Access-Token`.
 * - `inventorySetQuantities(input: {name: "available", reason, referenceDocumentUri, quantities:
 *   [{inventoryItemId, locationId, quantity, changeFromQuantity}]}) @idempotent(key:)`: from 2026-04
 *   the directive and `changeFromQuantity` on every row are required (null opts out of the compare);
 *   a row whose stored quantity differs from `changeFromQuantity` fails the whole call with
 *   `CHANGE_FROM_QUANTITY_STALE` and nothing is applied; at most 250 rows. The same key with the same
 *   input replays the first result (applied once); with another input → `IDEMPOTENCY_KEY_PARAMETER_MISMATCH`;
 *   while the first is still running → `IDEMPOTENCY_CONCURRENT_REQUEST`.
 * - `nodes(ids:) { ... on InventoryItem { id sku inventoryLevel(locationId:) { quantities(names:) { name quantity } } } }`.
 * - `productVariants(first:, after:, query:) { pageInfo { hasNextPage endCursor } nodes { id sku product { id title } inventoryItem { id } } }`.
 * - Cost-based throttling: a bucket of `maximumAvailable` points refilling at `restoreRate`/s; every
 *   answer carries `extensions.cost`; a call whose requested cost exceeds what is available gets
 *   HTTP 200 with `errors[].extensions.code = "THROTTLED"` and `actualQueryCost: null`.
 *   Costs as Shopify calculates them, simplified: a mutation 10, an object 1, a connection
 *   2 + first × its node, a list of ids (`nodes`) the ids × the node, scalars 0; the unused part of
 *   the requested cost is refunded (actual connection sizes).
 * - Faults switched on by tests: 429 with Retry-After, 5xx, an outage (connection refused or 503),
 *   dropped replies (applied, then the socket destroyed), slow answers, storefront sales.
 */

export interface FakeShopifyOptions {
  token?: string;
  /** bucket size; Standard plan default 2000 */
  maximumAvailable?: number;
  /** points per second; Standard plan 100 */
  restoreRate?: number;
  /** seed with the fixture product (4 iPod variants at one location); default true */
  seed?: boolean;
}

export interface Variant {
  id: string;
  productId: string;
  productTitle: string;
  sku: string;
  itemId: string;
  /** decimal in the shop's currency; "10.00" when not given */
  price?: string;
  /** "Default Title" for a product's only variant, as Shopify names it */
  title?: string;
}

type Fault = (
  | { kind: "429"; retryAfter?: string }
  | { kind: "5xx"; status: number; retryAfter?: string }
  | { kind: "drop" }
  | { kind: "slow"; ms: number }
) & {
  /** only a request whose operation has this top-level field (fulfillmentCreate, say) meets the fault */
  only?: string;
};

export interface SetCall {
  key: string | null;
  rows: number;
  /** inventory item GIDs of the rows */
  items: string[];
  outcome: "applied" | "replayed" | "stale" | "error";
}

const FIXTURES = new URL("../fixtures/", import.meta.url);

export class FakeShopify {
  readonly token: string;
  readonly variants: Variant[] = [];
  /** inventory item → location → available */
  readonly levels = new Map<string, Map<string, number>>();
  readonly locations: string[] = [];
  /** every inventorySetQuantities call that reached the resolver, in order */
  readonly setCalls: SetCall[] = [];
  /** `cost`: the points of every answered (not throttled) call */
  readonly counts = { requests: 0, throttled: 0, faults: 0, answered: 0, cost: 0 };
  /** orders by GID: their fulfillment orders and line items (for fulfillmentCreate) */
  readonly orders = new Map<string, FulfillmentOrder[]>();
  /** orders placed on the shop itself (storefront), by GID, as the `orders` query returns them */
  readonly shopOrders = new Map<string, ShopOrder>();
  /** every fulfillment created */
  readonly fulfillments: {
    id: string;
    order: string;
    trackingInfo: unknown;
    items: { id: string; quantity: number }[];
  }[] = [];
  /** the shop's currency (`shop { currencyCode }`) */
  currency = "EUR";
  /** products changed through productUpdate: title and status by product GID */
  readonly products = new Map<string, { title: string; status: string }>();
  /** every productUpdate applied */
  readonly productUpdates: { id: string; title?: string; status?: string }[] = [];
  /** variant prices set through productVariantsBulkUpdate, by variant GID */
  readonly prices = new Map<string, string>();
  /** runs before each inventorySetQuantities is applied (a concurrent storefront sale, say) */
  beforeSet: (() => void) | undefined;

  private readonly bucket: { max: number; available: number; rate: number; at: number };
  private readonly idempotency = new Map<
    string,
    { hash: string; result: unknown | "running"; failed?: boolean }
  >();
  private readonly faults: Fault[] = [];
  private server: Server | undefined;
  private port = 0;
  private downUntil = 0;
  private downMode: "refuse" | "503" = "refuse";
  private readonly sockets = new Set<Socket>();

  constructor(opts: FakeShopifyOptions = {}) {
    this.token = opts.token ?? "shpat_test";
    const max = opts.maximumAvailable ?? 2000;
    this.bucket = { max, available: max, rate: opts.restoreRate ?? 100, at: Date.now() };
    if (opts.seed !== false) this.seedFixture();
  }

  /** The fixture product (Shopify's own iPod Nano sample) with its stock at the fixture's location. */
  private seedFixture() {
    const p = JSON.parse(readFileSync(new URL("shopify-product-rest.json", FIXTURES), "utf8")).product as {
      id: number;
      title: string;
      variants: { id: number; sku: string; inventory_quantity: number; price: string; title: string }[];
    };
    const level = JSON.parse(readFileSync(new URL("shopify-inventory-level-webhook.json", FIXTURES), "utf8"));
    const location = `gid://shopify/Location/${level.location_id}`;
    this.addLocation(location);
    for (const v of p.variants) {
      const itemId = `gid://shopify/InventoryItem/${v.id + 1_000_000_000}`;
      this.addVariant({
        id: `gid://shopify/ProductVariant/${v.id}`,
        productId: `gid://shopify/Product/${p.id}`,
        productTitle: p.title,
        sku: v.sku,
        itemId,
        price: v.price,
        title: v.title,
      });
      this.levels.get(itemId)!.set(location, v.inventory_quantity);
    }
  }

  addLocation(gid: string) {
    if (!this.locations.includes(gid)) this.locations.push(gid);
  }

  /** A variant whose inventory item is stocked (at 0) at every location known now. */
  addVariant(v: Variant) {
    this.variants.push(v);
    this.levels.set(v.itemId, new Map(this.locations.map((l) => [l, 0])));
  }

  /** n products of one variant each, SKUs `${prefix}${i}`, stocked at every location. */
  addProducts(prefix: string, n: number, start = 1): Variant[] {
    const out: Variant[] = [];
    for (let i = start; i < start + n; i++) {
      const v = {
        id: `gid://shopify/ProductVariant/${9_000_000 + this.variants.length}`,
        productId: `gid://shopify/Product/${8_000_000 + this.variants.length}`,
        productTitle: `Product ${prefix}${i}`,
        sku: `${prefix}${i}`,
        itemId: `gid://shopify/InventoryItem/${7_000_000 + this.variants.length}`,
      };
      this.addVariant(v);
      out.push(v);
    }
    return out;
  }

  /** An order with one open fulfillment order holding these lines. */
  addOrder(gid: string, lines: { sku: string; quantity: number }[]) {
    const n = this.orders.size + 1;
    this.orders.set(gid, [
      {
        id: `gid://shopify/FulfillmentOrder/${5_000_000 + n}`,
        status: "OPEN",
        lineItems: lines.map((l, i) => ({
          id: `gid://shopify/FulfillmentOrderLineItem/${6_000_000 + n * 100 + i}`,
          sku: l.sku,
          remainingQuantity: l.quantity,
        })),
      },
    ]);
  }

  /**
   * An order placed on the shop's own storefront: the levels at `location` go down, the order is
   * listed by the `orders` query and open for fulfilment, and its orders/create webhook body is
   * returned, built from the fixture order (shopify-order-webhook.json) with this order's fields,
   * for the test to deliver signed, late, twice, or not at all.
   */
  storefrontOrder(o: {
    lines: { sku: string; quantity: number; price?: string }[];
    location: string;
    currency?: string;
    email?: string;
  }): { gid: string; body: string } {
    const legacy = String(820982911946200000n + BigInt(this.shopOrders.size + 1));
    const gid = `gid://shopify/Order/${legacy}`;
    const at = new Date().toISOString();
    for (const l of o.lines) this.storefrontSale(l.sku, o.location, l.quantity);
    const order: ShopOrder = {
      gid,
      legacy,
      name: `#${1000 + this.shopOrders.size + 1}`,
      email: o.email ?? "jon@example.com",
      currency: o.currency ?? "EUR",
      createdAt: at,
      updatedAt: at,
      cancelledAt: null,
      cancelReason: null,
      financial: "PAID",
      lines: o.lines.map((l, i) => ({
        id: `gid://shopify/LineItem/${legacy}${i}`,
        sku: l.sku,
        name: `Product ${l.sku}`,
        quantity: l.quantity,
        price: l.price ?? "10.00",
      })),
      shipping: {
        name: "Steve Shipper",
        firstName: "Steve",
        lastName: "Shipper",
        company: "Shipping Company",
        address1: "123 Shipping Street",
        address2: null,
        city: "Shippington",
        zip: "40003",
        province: "Kentucky",
        countryCodeV2: "US",
        phone: "555-555-SHIP",
      },
    };
    this.shopOrders.set(gid, order);
    this.addOrder(
      gid,
      o.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
    );
    return { gid, body: this.webhookBody(order) };
  }

  /** Cancels a storefront order on the shop (its webhook may be lost). */
  cancelShopOrder(gid: string) {
    const o = this.shopOrders.get(gid)!;
    o.cancelledAt = new Date().toISOString();
    o.cancelReason = "CUSTOMER";
    o.updatedAt = o.cancelledAt;
  }

  /**
   * The inventory_levels/update body Shopify sends for a level now (after Keel's push: its echo;
   * after a storefront sale or an admin edit: the change), built from the fixture with exact ids.
   */
  levelWebhookBody(sku: string, location: string): string {
    const fixture = JSON.parse(
      readFileSync(new URL("shopify-inventory-level-webhook.json", FIXTURES), "utf8"),
    );
    const item = this.itemOf(sku).split("/").pop()!;
    const loc = location.split("/").pop()!;
    return JSON.stringify({
      ...fixture,
      inventory_item_id: "__ITEM__",
      location_id: "__LOC__",
      available: this.available(sku, location) ?? null,
      updated_at: new Date().toISOString(),
      admin_graphql_api_id: `gid://shopify/InventoryLevel/${loc}?inventory_item_id=${item}`,
    })
      .replace('"__ITEM__"', item)
      .replace('"__LOC__"', loc);
  }

  /** The orders/* webhook body of an order: the fixture's, with the order's own fields. */
  webhookBody(o: ShopOrder): string {
    return orderWebhookBody(o);
  }

  itemOf(sku: string): string {
    const v = this.variants.find((x) => x.sku === sku);
    if (!v) throw new Error(`no variant ${sku}`);
    return v.itemId;
  }

  available(sku: string, location: string): number | undefined {
    return this.levels.get(this.itemOf(sku))?.get(location);
  }

  /** A sale on the storefront: the level changes behind Keel's back. */
  storefrontSale(sku: string, location: string, quantity = 1) {
    const l = this.levels.get(this.itemOf(sku))!;
    l.set(location, (l.get(location) ?? 0) - quantity);
  }

  /** The next n requests answer 429 (with `Retry-After` unless given as undefined). */
  rateLimit(n: number, retryAfter: string | undefined = "1.0") {
    for (let i = 0; i < n; i++) this.faults.push({ kind: "429", retryAfter });
  }
  /** The next n requests (of `only`, a top-level field, when given) answer with this 5xx status. */
  serverErrors(n: number, status = 502, retryAfter?: string, only?: string) {
    for (let i = 0; i < n; i++) this.faults.push({ kind: "5xx", status, retryAfter, only });
  }
  /** The next n requests (of `only`, a top-level field, when given) are applied, then the connection is destroyed before the reply. */
  dropReplies(n: number, only?: string) {
    for (let i = 0; i < n; i++) this.faults.push({ kind: "drop", only });
  }
  /** The next n requests are answered after ms. */
  slow(n: number, ms: number) {
    for (let i = 0; i < n; i++) this.faults.push({ kind: "slow", ms });
  }
  /** Down for ms: connections refused (the port closed), or every request answered 503. */
  async down(ms: number, mode: "refuse" | "503" = "refuse") {
    this.downUntil = Date.now() + ms;
    this.downMode = mode;
    if (mode === "refuse") {
      await this.closeServer();
      setTimeout(() => void this.listen(this.port), ms).unref();
    }
  }
  get isDown() {
    return Date.now() < this.downUntil;
  }
  /** Empties the bucket (as another app on the same shop would). */
  drainBucket() {
    this.refill();
    this.bucket.available = 0;
  }
  /** Another plan: a different bucket size or restore rate from now on. */
  setPlan(p: { maximumAvailable?: number; restoreRate?: number }) {
    this.refill();
    if (p.maximumAvailable !== undefined) this.bucket.max = p.maximumAvailable;
    if (p.restoreRate !== undefined) this.bucket.rate = p.restoreRate;
    this.bucket.available = Math.min(this.bucket.available, this.bucket.max);
  }
  /** Sets every level of every item to this quantity. */
  setAllLevels(quantity: number) {
    for (const l of this.levels.values()) for (const k of l.keys()) l.set(k, quantity);
  }
  get bucketState() {
    this.refill();
    return { ...this.bucket };
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<string> {
    await this.listen(0);
    return this.url;
  }

  async close() {
    this.downUntil = Number.POSITIVE_INFINITY; // no re-listen after an outage
    await this.closeServer();
  }

  private listen(port: number): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private closeServer(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return Promise.resolve();
    for (const socket of this.sockets) socket.destroy();
    return new Promise((r) => s.close(() => r()));
  }

  private refill() {
    const now = Date.now();
    const b = this.bucket;
    b.available = Math.min(b.max, b.available + ((now - b.at) / 1000) * b.rate);
    b.at = now;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    this.counts.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    if (this.isDown && this.downMode === "503") {
      this.counts.faults++;
      return send(503, { errors: "Service Unavailable" });
    }
    const m = /^\/admin\/api\/(\d{4}-\d{2}|unstable)\/graphql\.json$/.exec(req.url ?? "");
    if (req.method !== "POST" || !m) return send(404, { errors: "Not Found" });
    if (req.headers["x-shopify-access-token"] !== this.token)
      return send(401, {
        errors: "[API] Invalid API key or access token (unrecognized login or wrong password)",
      });
    let body: { query?: string; variables?: Record<string, unknown> };
    let op: Operation;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      op = parseOperation(String(body.query ?? ""), body.variables ?? {});
    } catch (err) {
      return send(200, {
        errors: [{ message: `Parse error: ${(err as Error).message}`, extensions: { code: "BAD_REQUEST" } }],
      });
    }
    // a fault meant for one operation waits for a request of it; the others meet the next request
    const at = this.faults.findIndex((f) => !f.only || op.selections.some((x) => x.name === f.only));
    const fault = at < 0 ? undefined : this.faults.splice(at, 1)[0];
    if (fault) this.counts.faults++;
    if (fault?.kind === "429")
      return send(
        429,
        {
          errors:
            "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.",
        },
        fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter },
      );
    if (fault?.kind === "5xx")
      return send(
        fault.status,
        { errors: "Internal Server Error" },
        fault.retryAfter ? { "retry-after": fault.retryAfter } : {},
      );
    if (fault?.kind === "slow") await new Promise((r) => setTimeout(r, fault.ms));

    const answer = await this.execute(op, m[1], body.variables ?? {});
    if (res.destroyed) return;
    if (fault?.kind === "drop") {
      req.socket.destroy();
      return;
    }
    send(200, answer);
  }

  private async execute(op: Operation, version: string, variables: Record<string, unknown>) {
    this.refill();
    const requested = op.selections.reduce((s, f) => s + requestedCost(f, op.kind === "mutation"), 0);
    const cost = (actual: number | null) => {
      const b = this.bucket;
      return {
        requestedQueryCost: requested,
        actualQueryCost: actual,
        throttleStatus: {
          maximumAvailable: b.max,
          currentlyAvailable: Math.floor(b.available),
          restoreRate: b.rate,
        },
      };
    };
    if (requested > this.bucket.max) {
      return {
        errors: [
          {
            message: `Query cost is ${requested}, which exceeds the single query max cost limit (${this.bucket.max}).`,
            extensions: { code: "MAX_COST_EXCEEDED" },
          },
        ],
        extensions: { cost: cost(null) },
      };
    }
    if (this.bucket.available < requested) {
      this.counts.throttled++;
      return {
        errors: [{ message: "Throttled", extensions: { code: "THROTTLED" } }],
        extensions: { cost: cost(null) },
      };
    }
    this.bucket.available -= requested;
    const data: Record<string, unknown> = {};
    const errors: unknown[] = [];
    let actual = 0;
    for (const f of op.selections) {
      try {
        const r = op.kind === "mutation" ? await this.mutation(f, version, variables) : this.query(f);
        data[f.alias] = r.value;
        actual += r.cost;
      } catch (err) {
        if (!(err instanceof GraphQLError)) throw err;
        errors.push({ message: err.message, path: [f.alias], extensions: { code: err.code } });
        data[f.alias] = null;
      }
    }
    this.bucket.available = Math.min(
      this.bucket.max,
      this.bucket.available + Math.max(0, requested - actual),
    );
    this.counts.answered++;
    this.counts.cost += actual;
    return { ...(errors.length ? { errors } : {}), data, extensions: { cost: cost(actual) } };
  }

  private query(f: Field): { value: unknown; cost: number } {
    if (f.name === "nodes") {
      const ids = (f.args.ids ?? []) as string[];
      if (!Array.isArray(ids) || ids.length > 250) throw new GraphQLError("ids: at most 250", "BAD_REQUEST");
      let cost = 0;
      const value = ids.map((id) => {
        const v = this.variants.find((x) => x.itemId === id);
        if (!v) return null;
        cost += requestedCost(f, false) / Math.max(1, ids.length);
        return this.inventoryItem(v, f.selections ?? [], "InventoryItem");
      });
      return { value, cost: Math.ceil(cost) };
    }
    if (f.name === "productVariants") {
      const first = Number(f.args.first ?? 0);
      if (!(first >= 1 && first <= 250)) throw new GraphQLError("first: 1 to 250", "BAD_REQUEST");
      const after = f.args.after ? Number(Buffer.from(String(f.args.after), "base64url").toString()) : 0;
      const q = typeof f.args.query === "string" ? /^sku:(\S+)$/.exec(f.args.query) : null;
      const all = q ? this.variants.filter((v) => v.sku === q[1]) : this.variants;
      const page = all.slice(after, after + first);
      const end = after + page.length;
      const value = select(f.selections ?? [], {
        pageInfo: (s: Field[]) =>
          select(s, {
            hasNextPage: end < all.length,
            endCursor: page.length ? Buffer.from(String(end)).toString("base64url") : null,
          }),
        nodes: (s: Field[]) => page.map((v) => this.variant(v, s)),
        edges: (s: Field[]) =>
          page.map((v, k) =>
            select(s, {
              cursor: Buffer.from(String(after + k + 1)).toString("base64url"),
              node: (n: Field[]) => this.variant(v, n),
            }),
          ),
      });
      const per = nodeCost(f);
      return { value, cost: 2 + page.length * per };
    }
    if (f.name === "shop")
      return { value: select(f.selections ?? [], { currencyCode: this.currency }), cost: 1 };
    if (f.name === "orders") {
      const first = Number(f.args.first ?? 0);
      if (!(first >= 1 && first <= 250)) throw new GraphQLError("first: 1 to 250", "BAD_REQUEST");
      const after = f.args.after ? Number(Buffer.from(String(f.args.after), "base64url").toString()) : 0;
      const since =
        typeof f.args.query === "string" ? /updated_at:>=?'?([^' ]+)'?/.exec(f.args.query)?.[1] : undefined;
      const all = [...this.shopOrders.values()]
        .filter((o) => !since || o.updatedAt >= new Date(since).toISOString())
        .sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : 0));
      const page = all.slice(after, after + first);
      const end = after + page.length;
      const value = select(f.selections ?? [], {
        pageInfo: (s: Field[]) =>
          select(s, {
            hasNextPage: end < all.length,
            endCursor: page.length ? Buffer.from(String(end)).toString("base64url") : null,
          }),
        nodes: (s: Field[]) => page.map((o) => deep(s, orderNode(o))),
      });
      return { value, cost: 2 + page.length * nodeCost(f) };
    }
    if (f.name === "order") {
      const fos = this.orders.get(String(f.args.id));
      if (!fos) return { value: null, cost: 1 };
      const value = select(f.selections ?? [], {
        id: String(f.args.id),
        fulfillmentOrders: (s: Field[]) =>
          select(s, {
            nodes: (n: Field[]) =>
              fos.map((fo) =>
                select(n, {
                  id: fo.id,
                  status: fo.status,
                  lineItems: (ls: Field[]) =>
                    select(ls, { nodes: (x: Field[]) => fo.lineItems.map((li) => select(x, li)) }),
                }),
              ),
          }),
      });
      return { value, cost: requestedCost(f, false) };
    }
    throw new GraphQLError(`Field '${f.name}' doesn't exist on type 'QueryRoot'`, "undefinedField");
  }

  private variant(v: Variant, s: Field[]) {
    return select(s, {
      id: v.id,
      sku: v.sku,
      title: v.title ?? "Default Title",
      price: this.prices.get(v.id) ?? v.price ?? "10.00",
      product: (p: Field[]) =>
        select(p, {
          id: v.productId,
          title: this.products.get(v.productId)?.title ?? v.productTitle,
          status: this.products.get(v.productId)?.status ?? "ACTIVE",
        }),
      inventoryItem: (i: Field[]) => this.inventoryItem(v, i),
    });
  }

  private inventoryItem(v: Variant, s: Field[], type?: string) {
    const levels = this.levels.get(v.itemId)!;
    const level = (loc: string, q: Field[]) =>
      levels.has(loc)
        ? select(q, {
            id: `gid://shopify/InventoryLevel/${loc.split("/").pop()}?inventory_item_id=${v.itemId.split("/").pop()}`,
            location: (l: Field[]) => select(l, { id: loc }),
            quantities: (qq: Field[], args: Record<string, Value>) =>
              ((args.names ?? []) as string[]).map((name) =>
                select(qq, { name, quantity: name === "available" ? levels.get(loc) : 0 }),
              ),
          })
        : null;
    return select(
      s.filter((x) => !x.onType || x.onType === type),
      {
        id: v.itemId,
        sku: v.sku,
        tracked: true,
        inventoryLevel: (q: Field[], args: Record<string, Value>) => level(String(args.locationId), q),
      },
    );
  }

  /** productUpdate(product: ProductUpdateInput {id, title, status, …}): the 2024-10+ form (`input:` is deprecated). */
  private productUpdate(f: Field) {
    const input = (f.args.product ?? null) as { id?: string; title?: string; status?: string } | null;
    if (!input?.id)
      throw new GraphQLError(
        "Variable $product of type ProductUpdateInput! was not provided.",
        "INVALID_VARIABLE",
      );
    const userErrors: { field: string[]; message: string }[] = [];
    const mine = this.variants.filter((v) => v.productId === input.id);
    if (mine.length === 0) userErrors.push({ field: ["id"], message: "Product does not exist" });
    else if (input.status && !["ACTIVE", "DRAFT", "ARCHIVED"].includes(input.status))
      userErrors.push({ field: ["status"], message: "Status is invalid" });
    else if (input.title === "") userErrors.push({ field: ["title"], message: "Title can't be blank" });
    else {
      const p = this.products.get(input.id) ?? { title: mine[0].productTitle, status: "ACTIVE" };
      if (input.title !== undefined) {
        p.title = input.title;
        for (const v of mine) v.productTitle = input.title;
      }
      if (input.status !== undefined) p.status = input.status;
      this.products.set(input.id, p);
      this.productUpdates.push({ id: input.id, ...input });
    }
    return {
      value: select(f.selections ?? [], {
        product: (s: Field[]) => (userErrors.length ? null : select(s, { id: input.id })),
        userErrors: (s: Field[]) => userErrors.map((e) => select(s, e)),
      }),
      cost: 10,
    };
  }

  /** productVariantsBulkUpdate(productId, variants: [{id, price}]) */
  private variantsBulkUpdate(f: Field) {
    const productId = String(f.args.productId ?? "");
    const rows = (f.args.variants ?? []) as { id?: string; price?: string }[];
    const userErrors: { field: string[]; message: string }[] = [];
    rows.forEach((r, i) => {
      const v = this.variants.find((x) => x.id === r.id && x.productId === productId);
      if (!v)
        userErrors.push({ field: ["variants", String(i), "id"], message: "Product variant does not exist" });
      else if (r.price !== undefined && !/^\d+(\.\d{1,2})?$/.test(String(r.price)))
        userErrors.push({ field: ["variants", String(i), "price"], message: "Price is invalid" });
    });
    if (userErrors.length === 0)
      for (const r of rows) {
        const v = this.variants.find((x) => x.id === r.id)!;
        if (r.price !== undefined) this.prices.set(v.id, String(r.price));
      }
    return {
      value: select(f.selections ?? [], {
        productVariants: (s: Field[]) =>
          userErrors.length
            ? null
            : rows.map((r) => select(s, { id: r.id, price: this.prices.get(r.id!) ?? null })),
        userErrors: (s: Field[]) => userErrors.map((e) => select(s, e)),
      }),
      cost: 10,
    };
  }

  /** fulfillmentCreate(fulfillment: {lineItemsByFulfillmentOrder, trackingInfo, notifyCustomer}) */
  private fulfillmentCreate(f: Field) {
    const input = (f.args.fulfillment ?? {}) as {
      lineItemsByFulfillmentOrder?: {
        fulfillmentOrderId: string;
        fulfillmentOrderLineItems?: { id: string; quantity: number }[];
      }[];
      trackingInfo?: unknown;
    };
    // FulfillmentTrackingInput: anything else is refused as the real schema refuses it
    const allowed = new Set(["company", "number", "numbers", "url", "urls"]);
    for (const k of Object.keys((input.trackingInfo ?? {}) as object))
      if (!allowed.has(k))
        throw new GraphQLError(
          `Field '${k}' is not defined on FulfillmentTrackingInput`,
          "argumentNotAccepted",
        );
    const userErrors: { field: string[]; message: string }[] = [];
    const groups = input.lineItemsByFulfillmentOrder ?? [];
    const all = [...this.orders.entries()].flatMap(([order, fos]) => fos.map((fo) => ({ order, fo })));
    const found = groups.map((g, i) => {
      const hit = all.find((x) => x.fo.id === g.fulfillmentOrderId);
      if (!hit || hit.fo.status === "CLOSED")
        userErrors.push({
          field: ["fulfillment", "lineItemsByFulfillmentOrder", String(i)],
          message: "Fulfillment order is not open.",
        });
      for (const li of g.fulfillmentOrderLineItems ?? []) {
        const item = hit?.fo.lineItems.find((x) => x.id === li.id);
        if (hit && (!item || li.quantity > item.remainingQuantity || li.quantity < 1))
          userErrors.push({
            field: ["fulfillment", "lineItemsByFulfillmentOrder", String(i)],
            message: "Invalid fulfillment order line item quantity requested.",
          });
      }
      return hit;
    });
    let fulfillment: Record<string, unknown> | null = null;
    if (userErrors.length === 0 && groups.length) {
      const items: { id: string; quantity: number }[] = [];
      groups.forEach((g, i) => {
        const fo = found[i]!.fo;
        const lines = g.fulfillmentOrderLineItems?.length
          ? g.fulfillmentOrderLineItems
          : fo.lineItems.map((li) => ({ id: li.id, quantity: li.remainingQuantity })); // empty: the whole order
        for (const l of lines) {
          const li = fo.lineItems.find((x) => x.id === l.id)!;
          li.remainingQuantity -= l.quantity;
          items.push(l);
        }
        fo.status = fo.lineItems.every((li) => li.remainingQuantity === 0) ? "CLOSED" : "IN_PROGRESS";
      });
      const id = `gid://shopify/Fulfillment/${4_000_000 + this.fulfillments.length + 1}`;
      this.fulfillments.push({ id, order: found[0]!.order, trackingInfo: input.trackingInfo, items });
      fulfillment = { id, status: "SUCCESS" };
    }
    return {
      value: select(f.selections ?? [], {
        fulfillment: (s: Field[]) => (fulfillment ? select(s, fulfillment) : null),
        userErrors: (s: Field[]) => userErrors.map((e) => select(s, e)),
      }),
      cost: 10,
    };
  }

  private async mutation(f: Field, version: string, variables: Record<string, unknown>) {
    if (f.name === "fulfillmentCreate") return this.fulfillmentCreate(f);
    if (f.name === "productUpdate") return this.productUpdate(f);
    if (f.name === "productVariantsBulkUpdate") return this.variantsBulkUpdate(f);
    if (f.name !== "inventorySetQuantities")
      throw new GraphQLError(`Field '${f.name}' doesn't exist on type 'Mutation'`, "undefinedField");
    const strict = version === "unstable" || version >= "2026-04";
    const directive = f.directives.find((d) => d.name === "idempotent");
    const key = directive ? String(directive.args.key ?? "") : null;
    if (strict && !key)
      throw new GraphQLError(
        "The @idempotent directive is required for this mutation but was not provided.",
        "BAD_REQUEST",
      );
    const input = f.args.input as Record<string, Value> | null;
    const rows = (input?.quantities ?? []) as Record<string, Value>[];
    const userErrors: { code: string; field: string[]; message: string }[] = [];
    const result = (group: unknown) => ({
      value: select(f.selections ?? [], {
        inventoryAdjustmentGroup: (s: Field[]) =>
          group ? select(s, group as Record<string, unknown>) : null,
        userErrors: (s: Field[]) => userErrors.map((e) => select(s, e)),
      }),
      cost: 10,
    });
    const hash = createHash("sha256")
      .update(JSON.stringify([input, variables]))
      .digest("hex");
    if (key) {
      const seen = this.idempotency.get(key);
      if (seen && seen.hash !== hash) {
        userErrors.push({
          code: "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
          field: [],
          message: "The same idempotency key was used with different parameters.",
        });
        this.setCalls.push({
          key,
          rows: rows.length,
          items: rows.map((r) => String(r.inventoryItemId)),
          outcome: "error",
        });
        return result(null);
      }
      if (seen?.result === "running") {
        userErrors.push({
          code: "IDEMPOTENCY_CONCURRENT_REQUEST",
          field: [],
          message: "A request with this idempotency key is in progress.",
        });
        this.setCalls.push({
          key,
          rows: rows.length,
          items: rows.map((r) => String(r.inventoryItemId)),
          outcome: "error",
        });
        return result(null);
      }
      if (seen?.failed) {
        userErrors.push({
          code: "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED",
          field: [],
          message: "The previous attempt with this idempotency key failed; retry with a new key.",
        });
        this.setCalls.push({
          key,
          rows: rows.length,
          items: rows.map((r) => String(r.inventoryItemId)),
          outcome: "error",
        });
        return result(null);
      }
      if (seen) {
        this.setCalls.push({
          key,
          rows: rows.length,
          items: rows.map((r) => String(r.inventoryItemId)),
          outcome: "replayed",
        });
        return seen.result as { value: unknown; cost: number };
      }
      this.idempotency.set(key, { hash, result: "running" });
    }
    await new Promise((r) => setImmediate(r)); // a concurrent request with the same key sees "running"
    if (input?.name !== "available" && input?.name !== "on_hand")
      userErrors.push({
        code: "INVALID_NAME",
        field: ["input", "name"],
        message: "The quantity name must be available or on_hand.",
      });
    if (typeof input?.reason !== "string")
      userErrors.push({
        code: "INVALID_REASON",
        field: ["input", "reason"],
        message: "A reason is required.",
      });
    if (rows.length > 250)
      throw new GraphQLError(
        "The input array size of 251 is greater than the maximum allowed of 250.",
        "MAX_INPUT_SIZE_EXCEEDED",
      );
    this.beforeSet?.();
    rows.forEach((r, i) => {
      const levels = this.levels.get(String(r.inventoryItemId));
      const field = ["input", "quantities", String(i)];
      if (strict && !("changeFromQuantity" in r)) {
        userErrors.push({
          code: "INVALID",
          field: [...field, "changeFromQuantity"],
          message: "changeFromQuantity is required.",
        });
      } else if (!levels) {
        userErrors.push({
          code: "INVALID_INVENTORY_ITEM",
          field: [...field, "inventoryItemId"],
          message: "The specified inventory item could not be found.",
        });
      } else if (!levels.has(String(r.locationId))) {
        userErrors.push({
          code: "ITEM_NOT_STOCKED_AT_LOCATION",
          field: [...field, "locationId"],
          message: "The specified inventory item is not stocked at the location.",
        });
      } else if (
        r.changeFromQuantity !== null &&
        r.changeFromQuantity !== undefined &&
        levels.get(String(r.locationId)) !== r.changeFromQuantity
      ) {
        userErrors.push({
          code: "CHANGE_FROM_QUANTITY_STALE",
          field: [...field, "changeFromQuantity"],
          message: "The specified compare quantity does not match the current quantity.",
        });
      }
    });
    let out: { value: unknown; cost: number };
    if (userErrors.length) {
      out = result(null);
      this.setCalls.push({
        key,
        rows: rows.length,
        items: rows.map((r) => String(r.inventoryItemId)),
        outcome: userErrors.some((e) => e.code === "CHANGE_FROM_QUANTITY_STALE") ? "stale" : "error",
      });
    } else {
      const changes = rows.map((r) => {
        const levels = this.levels.get(String(r.inventoryItemId))!;
        const before = levels.get(String(r.locationId))!;
        levels.set(String(r.locationId), Number(r.quantity));
        return {
          name: input?.name,
          delta: Number(r.quantity) - before,
          quantityAfterChange: Number(r.quantity),
        };
      });
      out = result({
        id: `gid://shopify/InventoryAdjustmentGroup/${this.setCalls.length + 1}`,
        reason: input?.reason,
        referenceDocumentUri: input?.referenceDocumentUri ?? null,
        changes: (s: Field[]) => changes.map((c) => select(s, c)),
      });
      this.setCalls.push({
        key,
        rows: rows.length,
        items: rows.map((r) => String(r.inventoryItemId)),
        outcome: "applied",
      });
    }
    if (key) {
      // a failed attempt is remembered: the same key again is IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED
      this.idempotency.set(key, { hash, result: out, failed: userErrors.length > 0 });
    }
    return out;
  }
}

interface FulfillmentOrder {
  id: string;
  status: "OPEN" | "IN_PROGRESS" | "CLOSED";
  lineItems: { id: string; sku: string; remainingQuantity: number }[];
}

type Resolver = unknown | ((s: Field[], args: Record<string, Value>) => unknown);

/** The fields asked for, by alias, from an object whose members are values or resolvers of a sub-selection. */
function select(fields: Field[], obj: Record<string, Resolver>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.name === "__typename") continue;
    if (!(f.name in obj)) throw new GraphQLError(`Field '${f.name}' doesn't exist`, "undefinedField");
    const v = obj[f.name];
    out[f.alias] =
      typeof v === "function"
        ? (v as (s: Field[], a: Record<string, Value>) => unknown)(f.selections ?? [], f.args)
        : v;
  }
  return out;
}

const CONNECTION_CHILDREN = new Set(["nodes", "edges"]);

/** Cost of one node of a connection (what `first` multiplies). */
function nodeCost(f: Field): number {
  let c = 0;
  for (const s of f.selections ?? []) {
    if (s.name === "nodes") c += childCost(s);
    if (s.name === "edges")
      c += (s.selections ?? []).filter((x) => x.name === "node").reduce((a, n) => a + 1 + childCost(n), 0);
  }
  return Math.max(1, c);
}

function childCost(f: Field): number {
  return (f.selections ?? []).reduce((s, x) => s + requestedCost(x, false), 0);
}

function requestedCost(f: Field, mutationRoot: boolean): number {
  if (mutationRoot) return 10;
  if (!f.selections) return 0; // scalars and enums
  if (typeof f.args.first === "number") return 2 + f.args.first * nodeCost(f);
  if (f.name === "nodes" && Array.isArray(f.args.ids)) return f.args.ids.length * (1 + childCost(f));
  if (CONNECTION_CHILDREN.has(f.name) || f.name === "pageInfo") return childCost(f);
  return 1 + childCost(f);
}
