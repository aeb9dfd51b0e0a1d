import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/**
 * A local WooCommerce REST v3 server with the behaviour Keel depends on
 * (woocommerce-rest-api-docs `_products.md`, `_product-variations.md`,
 * `_authentication.md`; class-wc-rest-controller.php for the batch limit):
 *
 * - HTTP Basic with consumer key / secret, else 401 `woocommerce_rest_cannot_view`;
 * - `GET /wp-json/wc/v3/products?sku=A,B&per_page=` (variations included, with their `parent_id`);
 * - `POST /products/batch` and `/products/{id}/variations/batch` with `{create, update, delete}`,
 *   at most 100 objects across the three, else 413 `woocommerce_rest_request_entity_too_large`;
 *   an unknown id answers that item with an `error` (the batch itself is 200);
 * - faults on demand: the next N requests answer a status (with Retry-After), hang for a while,
 *   or apply and then drop the reply;
 * - `sell(sku, n)`: a storefront sale, which lowers stock_quantity as the shop itself does;
 * - `sendWebhook(...)`: signs a body as WooCommerce does (base64 HMAC-SHA256);
 * - orders (`_orders.md`, `_order-notes.md`): `GET`/`PUT /orders/{id}` (a status change sets
 *   `date_modified`, and `completed` sets `date_completed`), `GET`/`POST /orders/{id}/notes`
 *   (`{note, customer_note}` → 201 with the note's id); an unknown order is 404
 *   `woocommerce_rest_shop_order_invalid_id`. `addFixtureOrder()` loads the docs' order 727 as is.
 */

export interface FakeItem {
  id: number;
  sku: string;
  type: "simple" | "variable" | "variation";
  parent_id: number;
  manage_stock: boolean;
  stock_quantity: number | null;
  stock_status: "instock" | "outofstock" | "onbackorder";
  name: string;
  /** publish, draft, pending, private */
  status: string;
  /** decimal in the shop's currency, as WooCommerce writes it */
  regular_price: string;
  date_modified_gmt: string;
}

type Fault =
  | { kind: "status"; status: number; retryAfter?: string }
  | { kind: "slow"; ms: number }
  | { kind: "drop-reply" };

export interface Logged {
  method: string;
  path: string;
  items: number;
  status: number;
}

export class FakeWooCommerce {
  readonly items = new Map<number, FakeItem>();
  readonly log: Logged[] = [];
  /** the shop's currency (Settings → General; GET /settings/general/woocommerce_currency) */
  currency = "USD";
  /** orders by id, as the REST API returns them */
  readonly orders = new Map<number, Record<string, unknown> & { id: number; status: string }>();
  /** notes per order id */
  readonly notes = new Map<
    number,
    { id: number; note: string; customer_note: boolean; date_created_gmt: string }[]
  >();
  private nextNoteId = 1000;
  private faults: Fault[] = [];
  private nextId = 100;
  private server: Server | undefined;
  baseUrl = "";

  constructor(
    readonly consumerKey = "ck_fake0123456789",
    readonly consumerSecret = "cs_fake0123456789",
    readonly batchLimit = 100,
  ) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        res.writeHead(500).end(JSON.stringify({ code: "internal", message: String(err) }));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    const a = this.server.address();
    this.baseUrl = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  addSimple(sku: string, stock = 0): FakeItem {
    const item: FakeItem = {
      id: this.nextId++,
      sku,
      type: "simple",
      parent_id: 0,
      manage_stock: true,
      stock_quantity: stock,
      stock_status: stock > 0 ? "instock" : "outofstock",
      date_modified_gmt: new Date().toISOString().slice(0, 19),
      name: `Product ${sku}`,
      status: "publish",
      regular_price: "12.00",
    };
    this.items.set(item.id, item);
    return item;
  }

  addVariable(skus: string[]): { parent: FakeItem; variations: FakeItem[] } {
    const parent = { ...this.addSimple(`${skus[0]}-parent`), type: "variable" as const, manage_stock: false };
    this.items.set(parent.id, parent);
    const variations = skus.map((sku) => {
      const v: FakeItem = { ...this.addSimple(sku), type: "variation", parent_id: parent.id };
      this.items.set(v.id, v);
      return v;
    });
    return { parent, variations };
  }

  /** The REST docs' order 727 (test/fixtures/woocommerce-order.json), byte for byte; `id` renumbers it. */
  addFixtureOrder(id?: number): Record<string, unknown> & { id: number; status: string } {
    const o = JSON.parse(
      readFileSync(new URL("../fixtures/woocommerce-order.json", import.meta.url), "utf8"),
    );
    if (id !== undefined) {
      o.id = id;
      o.number = String(id);
    }
    this.orders.set(o.id, o);
    return o;
  }

  /** A change made on the shop (a status set in wp-admin, say): `date_modified` moves, as WooCommerce does. */
  changeOrder(id: number, patch: Record<string, unknown>) {
    const o = this.orders.get(id)!;
    Object.assign(o, patch, {
      date_modified: new Date().toISOString().slice(0, 19),
      date_modified_gmt: new Date().toISOString().slice(0, 19),
    });
  }

  bySku(sku: string): FakeItem | undefined {
    return [...this.items.values()].find((i) => i.sku === sku);
  }

  /** A sale on the shop itself: WooCommerce lowers its own stock. */
  sell(sku: string, n: number): void {
    const item = this.bySku(sku);
    if (!item || item.stock_quantity === null) throw new Error(`no stock-managed ${sku}`);
    item.stock_quantity -= n;
    if (item.stock_quantity <= 0) item.stock_status = "outofstock";
  }

  /** The next requests fail, hang or lose their reply, in this order. */
  inject(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  /** Signs `body` as WooCommerce does for a webhook. */
  static sign(body: string, secret: string): string {
    return createHmac("sha256", secret).update(body).digest("base64");
  }

  private json(
    res: ServerResponse,
    status: number,
    body: unknown,
    req: IncomingMessage,
    items: number,
  ): void {
    this.log.push({ method: req.method ?? "", path: (req.url ?? "").split("?")[0], items, status });
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const url = new URL(req.url ?? "/", "http://fake");
    const fault = this.faults.shift();
    if (fault?.kind === "status") {
      this.log.push({ method: req.method ?? "", path: url.pathname, items: 0, status: fault.status });
      res
        .writeHead(fault.status, {
          "content-type": "application/json",
          ...(fault.retryAfter ? { "retry-after": fault.retryAfter } : {}),
        })
        .end(JSON.stringify({ code: "fault", message: `injected ${fault.status}` }));
      return;
    }
    if (fault?.kind === "slow") await new Promise((r) => setTimeout(r, fault.ms));
    if (res.destroyed || req.socket.destroyed) return;

    const expected = `Basic ${Buffer.from(`${this.consumerKey}:${this.consumerSecret}`).toString("base64")}`;
    if (req.headers.authorization !== expected) {
      return this.json(
        res,
        401,
        {
          code: "woocommerce_rest_cannot_view",
          message: "Sorry, you cannot list resources.",
          data: { status: 401 },
        },
        req,
        0,
      );
    }
    const path = url.pathname.replace(/^\/wp-json\/wc\/v3/, "");
    if (req.method === "GET" && path === "/products") {
      // with `sku`: the items carrying those SKUs; without: a page of products (variations are
      // listed under their parent, GET /products/{id}/variations)
      const skus = new Set((url.searchParams.get("sku") ?? "").split(",").filter(Boolean));
      const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 10), 100);
      const page = Number(url.searchParams.get("page") ?? 1);
      const found = [...this.items.values()]
        .filter((i) => (skus.size === 0 ? i.type !== "variation" : skus.has(i.sku)))
        .slice((page - 1) * perPage, page * perPage);
      return this.json(res, 200, found, req, found.length);
    }
    const variations = /^\/products\/(\d+)\/variations$/.exec(path);
    if (req.method === "GET" && variations) {
      const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 10), 100);
      const page = Number(url.searchParams.get("page") ?? 1);
      const found = [...this.items.values()]
        .filter((i) => i.type === "variation" && i.parent_id === Number(variations[1]))
        .slice((page - 1) * perPage, page * perPage);
      return this.json(res, 200, found, req, found.length);
    }
    if (req.method === "GET" && path === "/settings/general/woocommerce_currency")
      return this.json(
        res,
        200,
        { id: "woocommerce_currency", label: "Currency", type: "select", value: this.currency },
        req,
        1,
      );
    if (req.method === "GET" && path === "/orders") {
      // modified_after (GMT with dates_are_gmt), orderby=modified, order=asc, per_page ≤ 100, page
      const after = url.searchParams.get("modified_after");
      const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 10), 100);
      const page = Number(url.searchParams.get("page") ?? 1);
      const all = [...this.orders.values()]
        .filter((o) => !after || String(o.date_modified_gmt) > after)
        .sort((a, b) => String(a.date_modified_gmt).localeCompare(String(b.date_modified_gmt)));
      const found = all.slice((page - 1) * perPage, page * perPage);
      this.log.push({ method: "GET", path, items: found.length, status: 200 });
      res
        .writeHead(200, {
          "content-type": "application/json",
          "x-wp-total": String(all.length),
          "x-wp-totalpages": String(Math.max(1, Math.ceil(all.length / perPage))),
        })
        .end(JSON.stringify(found));
      return;
    }
    const order = /^\/orders\/(\d+)(\/notes)?$/.exec(path);
    if (order) return this.orderRoute(req, res, Number(order[1]), Boolean(order[2]), raw, fault);
    const batch = /^\/products(?:\/(\d+)\/variations)?\/batch$/.exec(path);
    if (req.method === "POST" && batch) {
      const body = JSON.parse(raw || "{}") as {
        create?: unknown[];
        update?: Partial<FakeItem>[];
        delete?: unknown[];
      };
      const count = (body.create?.length ?? 0) + (body.update?.length ?? 0) + (body.delete?.length ?? 0);
      if (count > this.batchLimit) {
        return this.json(
          res,
          413,
          {
            code: "woocommerce_rest_request_entity_too_large",
            message: `Unable to accept more than ${this.batchLimit} items for this request.`,
            data: { status: 413 },
          },
          req,
          count,
        );
      }
      const parent = batch[1] ? Number(batch[1]) : null;
      const update = (body.update ?? []).map((u) => {
        const item = this.items.get(Number(u.id));
        const wrongKind = item && (parent === null ? item.type === "variation" : item.parent_id !== parent);
        if (!item || wrongKind) {
          return {
            id: u.id,
            error: {
              code: "woocommerce_rest_product_invalid_id",
              message: "Invalid ID.",
              data: { status: 400 },
            },
          };
        }
        if (u.manage_stock !== undefined) item.manage_stock = u.manage_stock;
        if (u.stock_quantity !== undefined) item.stock_quantity = u.stock_quantity;
        if (u.stock_status !== undefined) item.stock_status = u.stock_status;
        item.date_modified_gmt = new Date().toISOString().slice(0, 19);
        return { ...item };
      });
      if (fault?.kind === "drop-reply") {
        // applied, but the client never hears back
        this.log.push({ method: "POST", path: url.pathname, items: count, status: 0 });
        req.socket.destroy();
        return;
      }
      return this.json(res, 200, { create: [], update, delete: [] }, req, count);
    }
    return this.json(
      res,
      404,
      { code: "rest_no_route", message: "No route was found.", data: { status: 404 } },
      req,
      0,
    );
  }

  private async orderRoute(
    req: IncomingMessage,
    res: ServerResponse,
    id: number,
    notes: boolean,
    raw: string,
    fault: Fault | undefined,
  ): Promise<void> {
    const o = this.orders.get(id);
    if (!o)
      return this.json(
        res,
        404,
        { code: "woocommerce_rest_shop_order_invalid_id", message: "Invalid ID.", data: { status: 404 } },
        req,
        0,
      );
    const now = new Date().toISOString().slice(0, 19);
    const drop = () => {
      this.log.push({ method: req.method ?? "", path: req.url ?? "", items: 1, status: 0 });
      req.socket.destroy();
    };
    if (notes && req.method === "GET") return this.json(res, 200, this.notes.get(id) ?? [], req, 0);
    if (notes && req.method === "POST") {
      const b = JSON.parse(raw || "{}") as { note?: unknown; customer_note?: unknown };
      if (typeof b.note !== "string" || b.note === "")
        return this.json(
          res,
          400,
          {
            code: "rest_missing_callback_param",
            message: "Missing parameter(s): note",
            data: { status: 400 },
          },
          req,
          0,
        );
      const note = {
        id: this.nextNoteId++,
        note: b.note,
        customer_note: b.customer_note === true,
        date_created_gmt: now,
      };
      this.notes.set(id, [...(this.notes.get(id) ?? []), note]);
      if (fault?.kind === "drop-reply") return drop();
      return this.json(res, 201, { ...note, author: "Keel" }, req, 1);
    }
    if (!notes && req.method === "GET") return this.json(res, 200, o, req, 1);
    if (!notes && req.method === "PUT") {
      const b = JSON.parse(raw || "{}") as { status?: string };
      const statuses = ["pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed"];
      if (b.status !== undefined && !statuses.includes(b.status))
        return this.json(
          res,
          400,
          { code: "rest_invalid_param", message: "Invalid parameter(s): status", data: { status: 400 } },
          req,
          0,
        );
      if (b.status && b.status !== o.status) {
        o.status = b.status;
        o.date_modified_gmt = now;
        if (b.status === "completed") o.date_completed_gmt = now;
      }
      if (fault?.kind === "drop-reply") return drop();
      return this.json(res, 200, o, req, 1);
    }
    return this.json(
      res,
      404,
      { code: "rest_no_route", message: "No route was found.", data: { status: 404 } },
      req,
      0,
    );
  }
}
