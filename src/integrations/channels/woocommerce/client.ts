/**
 * A WooCommerce REST v3 client on Node's fetch: HTTP Basic with the consumer
 * key and secret (WooCommerce's auth over HTTPS), a timeout per request, and
 * retries with jittered exponential backoff on 429, 5xx, timeouts and dropped
 * connections (hosts and WAFs send 429/5xx even though WooCommerce core does
 * not), honouring Retry-After in seconds. Batches are sent as given; callers
 * keep them within WooCommerce's 100-object limit (BATCH_LIMIT).
 */

export const BATCH_LIMIT = 100;

export interface WooClientOptions {
  baseUrl: string;
  consumerKey: string;
  consumerSecret: string;
  timeoutMs?: number;
  /** Attempts per request, the first included. */
  attempts?: number;
  /** Base of the backoff, doubled per attempt (with jitter). */
  backoffMs?: number;
  /** Longest wait a Retry-After may ask for before the request counts as failed. */
  maxWaitMs?: number;
}

export class WooRequestFailed extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly attempts: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface BatchItemResult {
  id: string;
  error?: { code: string; message: string };
}

const RETRYABLE = (status: number) => status === 429 || status >= 500;

export class WooClient {
  private readonly base: string;
  private readonly auth: string;

  constructor(private readonly o: WooClientOptions) {
    this.base = `${o.baseUrl.replace(/\/+$/, "")}/wp-json/wc/v3`;
    this.auth = `Basic ${Buffer.from(`${o.consumerKey}:${o.consumerSecret}`).toString("base64")}`;
  }

  /** One request, retried as the header says; throws WooRequestFailed when it cannot succeed. */
  async request<T>(method: "GET" | "POST" | "PUT", path: string, body?: unknown): Promise<T> {
    const attempts = this.o.attempts ?? 5;
    let last: WooRequestFailed | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let wait = this.backoff(attempt);
      try {
        const res = await fetch(`${this.base}${path}`, {
          method,
          headers: {
            authorization: this.auth,
            accept: "application/json",
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000),
          redirect: "error",
        });
        const text = await res.text();
        if (res.ok) return (text ? JSON.parse(text) : null) as T;
        const parsed = safeJson(text) as { code?: string; message?: string } | null;
        last = new WooRequestFailed(
          `${method} ${path}: HTTP ${res.status}${parsed?.message ? ` ${parsed.message}` : ""}`,
          res.status,
          attempt,
          parsed?.code,
        );
        if (!RETRYABLE(res.status)) throw last;
        const after = Number(res.headers.get("retry-after"));
        if (Number.isFinite(after) && after > 0) wait = after * 1000;
      } catch (err) {
        if (err instanceof WooRequestFailed && !RETRYABLE(err.status ?? 0)) throw err;
        if (!(err instanceof WooRequestFailed)) {
          const e = err as Error;
          const timeout = e.name === "TimeoutError" || e.name === "AbortError";
          last = new WooRequestFailed(
            `${method} ${path}: ${timeout ? `no answer within ${this.o.timeoutMs ?? 30_000} ms` : e.message}`,
            null,
            attempt,
          );
        }
      }
      if (attempt < attempts) {
        if (wait > (this.o.maxWaitMs ?? 120_000)) break;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    throw last ?? new WooRequestFailed(`${method} ${path} failed`, null, attempts);
  }

  private backoff(attempt: number): number {
    const base = (this.o.backoffMs ?? 500) * 2 ** (attempt - 1);
    return Math.round(base / 2 + Math.random() * base);
  }

  /** Products and variations carrying these SKUs (at most 100 per call), with their stock as the shop has it. */
  async productsBySku(skus: string[]): Promise<
    {
      id: string;
      sku: string;
      parent_id: string;
      type: string;
      stock_quantity: number | null;
      stock_status: string | null;
    }[]
  > {
    if (skus.length > BATCH_LIMIT) throw new Error(`at most ${BATCH_LIMIT} SKUs per lookup`);
    const q = new URLSearchParams({ sku: skus.join(","), per_page: String(BATCH_LIMIT) });
    const found = await this.request<
      {
        id: number | string;
        sku: string;
        parent_id?: number | string;
        type?: string;
        stock_quantity?: number | null;
        stock_status?: string | null;
      }[]
    >("GET", `/products?${q}`);
    return found.map((p) => ({
      id: String(p.id),
      sku: p.sku,
      parent_id: String(p.parent_id ?? 0),
      type: p.type ?? "simple",
      stock_quantity: typeof p.stock_quantity === "number" ? p.stock_quantity : null,
      stock_status: p.stock_status ?? null,
    }));
  }

  /** Orders changed since `after`, oldest change first, 100 per page (`X-WP-TotalPages` is not needed: a short page ends it). */
  async *ordersModifiedAfter(after: Date): AsyncGenerator<Record<string, unknown>[]> {
    for (let page = 1; ; page++) {
      const q = new URLSearchParams({
        modified_after: after.toISOString().slice(0, 19),
        dates_are_gmt: "true",
        orderby: "modified",
        order: "asc",
        per_page: String(BATCH_LIMIT),
        page: String(page),
      });
      const found = await this.request<Record<string, unknown>[]>("GET", `/orders?${q}`);
      yield found;
      if (found.length < BATCH_LIMIT) return;
    }
  }

  /** POST /products/batch or /products/{id}/variations/batch with `update`; per-item results. */
  async batchUpdate(parentId: string | null, update: Record<string, unknown>[]): Promise<BatchItemResult[]> {
    if (update.length > BATCH_LIMIT) throw new Error(`at most ${BATCH_LIMIT} objects per batch`);
    const path = parentId === null ? "/products/batch" : `/products/${parentId}/variations/batch`;
    const res = await this.request<{
      update?: { id: number | string; error?: { code: string; message: string } }[];
    }>("POST", path, { update });
    return (res?.update ?? []).map((u) => ({ id: String(u.id), ...(u.error ? { error: u.error } : {}) }));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
