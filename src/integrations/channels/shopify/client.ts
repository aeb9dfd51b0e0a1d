import type { DB } from "../../../db/pool.js";
import { inTransaction } from "../../../db/tx.js";
import { recordFailure, resolveFailure } from "../../monitor/failures.js";

/**
 * Our own Shopify Admin GraphQL client on Node's fetch (the reference sheet
 * explains why not Shopify's: it reads Retry-After seconds as milliseconds and
 * returns THROTTLED without retrying). Per shop it keeps a budget learned from
 * `extensions.cost.throttleStatus` (never a hard-coded bucket) and waits for
 * enough points before it sends. THROTTLED (HTTP 200) waits the time the
 * missing points take to restore; 429 waits Retry-After seconds; 5xx,
 * connection errors and timeouts back off exponentially with jitter. Each
 * kind of problem is recorded in the monitor (source shopify, operation api,
 * subject `<channel>:<kind>`) and resolved by the next call that succeeds.
 */

export type Problem = "throttled" | "rate_limited" | "server_error" | "timeout" | "unreachable" | "rejected";
const PROBLEMS: Problem[] = [
  "throttled",
  "rate_limited",
  "server_error",
  "timeout",
  "unreachable",
  "rejected",
];

export interface Cost {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
}

export interface GraphQLAnswer<T> {
  data: T;
  errors?: { message: string; extensions?: { code?: string } }[];
  cost?: Cost;
}

export class ShopifyError extends Error {
  constructor(
    readonly problem: Problem | "graphql",
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  channel: string;
  endpoint: string;
  accessToken: string;
  /** where problems are recorded; none: not recorded */
  db?: DB;
  timeoutMs?: number;
  /** attempts for 429, 5xx, timeouts and connection errors before the call fails; default 6 */
  maxAttempts?: number;
  backoff?: { baseMs: number; capMs: number };
  /** longest wait for the budget's estimate before sending anyway; default 5 s */
  maxBudgetWaitMs?: number;
  /** THROTTLED answers waited out before the call fails; default 50 */
  maxThrottled?: number;
}

/** What is known of one shop's bucket: points at `at`, refilling at `rate` per second. */
class Budget {
  max: number | null = null;
  available = 0;
  rate = 0;
  at = 0;
  private queue: Promise<void> = Promise.resolve();

  now(): number {
    if (this.max === null) return Number.POSITIVE_INFINITY;
    return Math.min(this.max, this.available + ((Date.now() - this.at) / 1000) * this.rate);
  }

  /**
   * Waits (in turn with the shop's other callers) until `cost` points should be there, then takes them.
   * The wait is an estimate from the last answer; past `maxWaitMs` the call is sent anyway, and the
   * answer (THROTTLED or not) tells the shop's real figures (a plan or bucket that changed meanwhile).
   */
  take(cost: number, maxWaitMs: number): Promise<void> {
    const turn = this.queue.then(async () => {
      const have = this.now();
      const need = Math.min(cost, this.max ?? cost);
      if (have < need && this.rate > 0) await sleep(Math.min(maxWaitMs, ((need - have) / this.rate) * 1000));
      if (this.max !== null) {
        this.available = this.now() - need;
        this.at = Date.now();
      }
    });
    this.queue = turn.catch(() => {});
    return turn;
  }

  /** The shop's own figures replace the estimate (the bucket may be shared with other apps). */
  learn(cost: Cost) {
    const t = cost.throttleStatus;
    this.max = t.maximumAvailable;
    this.rate = t.restoreRate;
    this.available = Math.min(t.currentlyAvailable, this.max);
    this.at = Date.now();
  }
}

const budgets = new Map<string, Budget>();
function budgetOf(endpoint: string): Budget {
  const shop = new URL(endpoint).host;
  let b = budgets.get(shop);
  if (!b) {
    b = new Budget();
    budgets.set(shop, b);
  }
  return b;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export class ShopifyClient {
  private readonly budget: Budget;
  /** problems recorded by this client and not yet resolved (one DB write per change, not per call) */
  private readonly open = new Set<Problem>();
  private checkedOpen = false;
  /** the last requested cost per operation name, to budget the next one */
  private readonly learnedCost = new Map<string, number>();

  constructor(readonly opts: ClientOptions) {
    this.budget = budgetOf(opts.endpoint);
  }

  /** Sends one GraphQL document; resolves with its data, throws ShopifyError when retries run out. */
  async request<T>(
    query: string,
    variables: Record<string, unknown> = {},
    opts: {
      name?: string;
      estimatedCost?: number;
      /**
       * false for a mutation without an idempotency key (fulfillmentCreate): a timeout or a lost
       * reply may have been applied, so it is not sent again blindly; the caller checks first.
       * 429, 5xx and THROTTLED were not applied and are retried either way.
       */
      retryAmbiguous?: boolean;
    } = {},
  ): Promise<GraphQLAnswer<T>> {
    const name = opts.name ?? /^\s*(?:query|mutation)\s+(\w+)/.exec(query)?.[1] ?? "anonymous";
    const maxAttempts = this.opts.maxAttempts ?? 6;
    const backoff = this.opts.backoff ?? { baseMs: 250, capMs: 15_000 };
    let failures = 0;
    let throttled = 0;
    for (;;) {
      const estimate = this.learnedCost.get(name) ?? opts.estimatedCost ?? 10;
      await this.budget.take(estimate, this.opts.maxBudgetWaitMs ?? 5000);
      let res: Response;
      try {
        res = await fetch(this.opts.endpoint, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            "x-shopify-access-token": this.opts.accessToken,
            "user-agent": "Keel-Shopify/1",
          },
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 20_000),
        });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        const problem: Problem = e.name === "TimeoutError" ? "timeout" : "unreachable";
        const msg =
          problem === "timeout" ? "no answer in time" : `${e.message} ${e.cause?.code ?? ""}`.trim();
        await this.problem(problem, msg);
        const refused = e.cause?.code === "ECONNREFUSED"; // never reached Shopify: safe to send again
        if (++failures >= maxAttempts || (opts.retryAmbiguous === false && !refused))
          throw new ShopifyError(problem, msg);
        await sleep(jittered(backoff, failures));
        continue;
      }
      if (res.status === 429 || res.status >= 500) {
        const problem: Problem = res.status === 429 ? "rate_limited" : "server_error";
        const retryAfter = Number.parseFloat(res.headers.get("retry-after") ?? "");
        await res.body?.cancel().catch(() => {});
        const msg = `HTTP ${res.status}${Number.isFinite(retryAfter) ? ` (Retry-After ${retryAfter} s)` : ""}`;
        await this.problem(problem, msg);
        if (++failures >= maxAttempts) throw new ShopifyError(problem, msg, res.status);
        // Retry-After is in seconds (Shopify's own client reads it as milliseconds)
        await sleep(Number.isFinite(retryAfter) ? retryAfter * 1000 : jittered(backoff, failures));
        continue;
      }
      if (res.status !== 200) {
        const text = (await res.text().catch(() => "")).slice(0, 300);
        const msg = `HTTP ${res.status}: ${text}`;
        await this.problem("rejected", msg);
        throw new ShopifyError("rejected", msg, res.status);
      }
      let answer: { data?: T; errors?: GraphQLAnswer<T>["errors"]; extensions?: { cost?: Cost } };
      try {
        answer = (await res.json()) as typeof answer;
      } catch (err) {
        // the connection dropped mid-body, or the body is not JSON: the same as no answer
        const msg = `unreadable answer: ${(err as Error).message}`;
        await this.problem("unreachable", msg);
        if (++failures >= maxAttempts || opts.retryAmbiguous === false)
          throw new ShopifyError("unreachable", msg);
        await sleep(jittered(backoff, failures));
        continue;
      }
      const cost = answer.extensions?.cost;
      if (cost) {
        this.budget.learn(cost);
        this.learnedCost.set(name, cost.requestedQueryCost);
      }
      if (answer.errors?.some((e) => e.extensions?.code === "THROTTLED")) {
        const t = cost?.throttleStatus;
        const missing = (cost?.requestedQueryCost ?? estimate) - (t?.currentlyAvailable ?? 0);
        const waitMs =
          t && t.restoreRate > 0 ? (Math.max(1, missing) / t.restoreRate) * 1000 : jittered(backoff, 1);
        await this.problem(
          "throttled",
          `THROTTLED: needs ${cost?.requestedQueryCost} points, ${t?.currentlyAvailable} available`,
        );
        if (++throttled > (this.opts.maxThrottled ?? 50))
          throw new ShopifyError("throttled", "still throttled");
        await sleep(waitMs);
        continue;
      }
      await this.passed();
      if (answer.errors?.length) {
        // Keel's documents never expect partial answers: any top-level error fails the call
        throw new ShopifyError(
          "graphql",
          answer.errors.map((e) => `${e.extensions?.code ?? ""} ${e.message}`.trim()).join("; "),
        );
      }
      return { data: answer.data as T, errors: answer.errors, cost };
    }
  }

  private async problem(kind: Problem, error: string) {
    this.open.add(kind);
    const db = this.opts.db;
    if (!db) return;
    await inTransaction(db, (tx) =>
      recordFailure(tx, {
        source: "shopify",
        channel: this.opts.channel,
        operation: "api",
        subject: `${this.opts.channel}:${kind}`,
        error,
        detail: { endpoint: this.opts.endpoint },
      }),
    ).catch(() => {}); // the monitor being down must not stop the call
  }

  /** A call went through: every problem this channel's calls had is over. */
  private async passed() {
    const db = this.opts.db;
    if (!db || (this.open.size === 0 && this.checkedOpen)) return;
    const kinds = this.checkedOpen ? [...this.open] : PROBLEMS; // after a restart, ones recorded before it
    this.checkedOpen = true;
    this.open.clear();
    await inTransaction(db, async (tx) => {
      for (const k of kinds)
        await resolveFailure(tx, {
          source: "shopify",
          operation: "api",
          subject: `${this.opts.channel}:${k}`,
        });
    }).catch(() => {});
  }
}

function jittered(b: { baseMs: number; capMs: number }, attempt: number): number {
  const d = Math.min(b.capMs, b.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(d * (0.8 + 0.4 * Math.random()));
}
