/**
 * What turns the routes' own schemas into a complete OpenAPI document: an
 * operationId derived from each route's method and path (stable, so client
 * generators keep their names), a description that says the permission the
 * operation needs, the problems every operation can answer with, the tags'
 * descriptions and the server. Applied to the finished document
 * (`transformObject`), never to the routes' response serialisers.
 */

type Schema = Record<string, unknown>;
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: unknown;
  security?: Array<Record<string, string[]>>;
  responses?: Record<string, unknown>;
  "x-permission"?: string;
}
export interface OpenApiDocument {
  openapi: string;
  info: Schema;
  servers?: Array<{ url: string; description?: string }>;
  tags?: Array<{ name: string; description: string }>;
  paths: Record<string, Record<string, Operation>>;
  components?: Schema & { schemas?: Record<string, Schema> };
  security?: unknown;
}

/** The module each tag names, as the API reference's sections introduce them. */
export const TAGS: Record<string, string> = {
  events: "The outbox: every committed change as an event, as a feed and as a live stream",
  inventory: "Stock per variant × location in buckets, the immutable movement ledger, transfers",
  reservations: "Stock held for carts and checkouts, all lines or none, released or expired",
  storefront: "Public, cached availability for product pages and its live stream",
  catalog: "Products, variants, bundles and locations",
  orders: "Orders from every channel in one model: placement, approval, holds, edits, cancellation",
  channels: "Sales channels, their connector settings, inbound webhooks and sync jobs",
  settings: "How orders are checked, approved and allocated",
  fulfillments: "Allocation into fulfilments and pick-pack-ship, pick bins",
  purchasing: "Suppliers, purchase orders, receipts and moving-average costs",
  replenishment: "Reorder rules and purchase suggestions",
  counts: "Cycle counts, variances and their approval",
  returns: "Returns (RMA), inspection, dispositions, refunds and exchanges",
  csv: "CSV exports and imports",
  integrations: "ERP/WMS stock feed, channel stock policies, integration failures and health",
  webhooks: "Outbound webhook subscriptions, their delivery log and replay",
  audit: "The append-only, hash-chained audit trail",
  access: "Sign-in, sessions, two-factor, users, roles and API keys",
  approvals: "Four-eyes approvals of sensitive writes",
  reports: "Reports and the dashboard: decision figures with a drill-down to the rows behind them",
  alerts: "Alerts on stock, exceptions and anomalies, and where they are sent",
  finance: "Invoices, credit notes, tax and the postings journal",
  notifications: "E-mails to customers about their orders",
};

/** Words whose route is an action on the resource before them (`POST /orders/{id}/approve` → approveOrder). */
const ACTIONS = new Set([
  "acknowledge",
  "approve",
  "authorize",
  "cancel",
  "close",
  "complete",
  "confirm",
  "deliver",
  "disable",
  "exchange",
  "hold",
  "inspect",
  "login",
  "logout",
  "pack",
  "pick",
  "receive",
  "refund",
  "reject",
  "release",
  "replay",
  "retry",
  "rotate",
  "ship",
  "submit",
  "sync",
]);

/** Paths that name one thing rather than a collection: their GET is `get…`, their PUT `update…`. */
const SINGLETONS = new Set(["availability", "dashboard", "health", "me", "stock-policy", "stream", "totp"]);

/** Where the derived name would read badly. */
const NAMED: Record<string, string> = {
  "post /v1/auth/login": "login",
  "post /v1/auth/logout": "logout",
  "get /v1/events/stream": "streamEvents",
  "get /v1/storefront/availability/stream": "streamStorefrontAvailability",
  "post /v1/integrations/stock": "pushStockLevels",
  "get /v1/count-settings": "getCountSettings",
  "post /v1/count-settings": "setCountSettings",
  "post /v1/channels/{code}/webhooks": "receiveChannelWebhook",
};

/** Bodies a route reads with its own content-type parser, which its zod schema cannot describe. */
const RAW_BODIES: Record<string, { mediaType: string; description: string }> = {
  "post /v1/imports": { mediaType: "text/csv", description: "The CSV file, UTF-8, at most 20 MB" },
};

const pascal = (word: string) =>
  word
    .split(/[-_.]/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join("");

export function singular(word: string): string {
  if (/ies$/.test(word)) return `${word.slice(0, -3)}y`;
  if (/(ss|x|ch|sh)es$/.test(word)) return word.slice(0, -2);
  if (/[^su]s$/.test(word)) return word.slice(0, -1);
  return word;
}

/** `GET /v1/orders/{id}/notifications` → `listOrderNotifications`; deterministic, so names are stable. */
export function operationIdFor(method: string, path: string): string {
  const named = NAMED[`${method.toLowerCase()} ${path}`];
  if (named) return named;
  const segments = path.split("/").filter((s) => s && s !== "v1");
  const isParam = (s: string | undefined) => s?.startsWith("{");
  const statics = segments.filter((s) => !isParam(s));
  const last = segments[segments.length - 1];
  const m = method.toLowerCase();

  if (statics[0] === "settings" && statics.length === 2)
    return `${m === "get" ? "get" : "update"}${pascal(statics[1])}Settings`;
  if (statics[0] === "reports" && statics.length === 2) return `get${pascal(statics[1])}Report`;
  if (statics[0] === "exports") return `export${pascal(statics[1])}`;

  let verb: string;
  let nouns = segments;
  if (m === "post" && !isParam(last) && ACTIONS.has(last) && segments.length > 1) {
    verb = last;
    nouns = segments.slice(0, -1);
  } else if (m === "get") verb = isParam(last) || SINGLETONS.has(last) ? "get" : "list";
  else if (m === "post") verb = SINGLETONS.has(last) ? "start" : "create";
  else if (m === "put" || m === "patch") verb = SINGLETONS.has(last) ? "set" : "update";
  else if (m === "delete") verb = "delete";
  else verb = m;

  // a collection that an item of it follows, or that a single item is made in, is named in the singular
  const words = nouns.flatMap((s, i) => {
    if (isParam(s)) return [];
    const lastNoun = i === nouns.length - 1;
    const itemFollows = isParam(nouns[i + 1]);
    const one = itemFollows || (lastNoun && verb === "create");
    return [pascal(one ? singular(s) : s)];
  });
  return verb + words.join("");
}

/** The JSON problem every error answer carries (RFC 9457), as API.md describes it. */
const PROBLEM: Schema = {
  type: "object",
  description: "A problem (RFC 9457): a stable `code` to branch on and a `detail` for people",
  properties: {
    type: { type: "string", description: "A URL naming the problem type" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    code: { type: "string", description: "A stable, machine-readable code such as `insufficient_stock`" },
  },
  required: ["type", "title", "status", "code"],
};

const problemResponse = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});

/** The problems any operation may answer with, beyond those a route documents itself. */
function commonProblems(method: string, op: Operation): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const secured = (op.security ?? []).length > 0;
  const hasInput =
    op.requestBody !== undefined ||
    (op.parameters ?? []).some((p) => p.in === "query" || p.in === "path" || p.in === "header");
  if (hasInput) {
    out["400"] = problemResponse("The request is not valid (`validation_failed`); nothing changed");
    out["404"] = problemResponse("No such resource, or one the request names does not exist (`not_found`)");
    out["422"] = problemResponse(
      "Well-formed, but it cannot apply: an unknown SKU, location or supplier, a rule it breaks (`validation_failed`); nothing changed",
    );
  }
  if (op.requestBody !== undefined || ["post", "put", "patch", "delete"].includes(method)) {
    out["409"] = problemResponse(
      "It conflicts with the current state: a code already taken, a state that does not allow it; nothing changed",
    );
    out["413"] = problemResponse("The body is larger than this Keel accepts (`payload_too_large`)");
    out["415"] = problemResponse(
      "The body is not in a media type this operation reads (`unsupported_media_type`)",
    );
  }
  if (secured) {
    out["401"] = problemResponse("No valid API key or session (`unauthorized`)");
    out["403"] = problemResponse(
      "The caller's roles do not grant the permission this operation needs (`forbidden`)",
    );
  }
  out["429"] = problemResponse("Too many requests (`rate_limited`); retry after the Retry-After seconds");
  out["503"] = problemResponse(
    "The database cannot be reached (`unavailable`); retry after the Retry-After seconds",
  );
  return out;
}

function permissionSentence(op: Operation): string {
  const scopes = [...new Set((op.security ?? []).flatMap((s) => Object.values(s).flat()))];
  if ((op.security ?? []).length === 0) return "Public: no API key or session needed.";
  if (scopes.length === 0) return "Any valid API key or signed-in user may call it.";
  return `Needs the \`${scopes.join("`, `")}\` permission (an API key or a signed-in user whose roles grant it).`;
}

/** Completes the generated document in place; throws when two routes would share an operationId. */
export function completeDocument(doc: OpenApiDocument, serverUrl?: string): OpenApiDocument {
  const seen = new Map<string, string>();
  const usedTags = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      if (typeof op !== "object" || op === null || !("responses" in op)) continue;
      op.operationId ??= operationIdFor(method, path);
      const other = seen.get(op.operationId);
      if (other) throw new Error(`operationId ${op.operationId} of ${method} ${path} is also ${other}'s`);
      seen.set(op.operationId, `${method} ${path}`);
      const said = op.description ?? op.summary ?? "";
      op.description =
        `${said}${said.endsWith(".") || said === "" ? "" : "."}\n\n${permissionSentence(op)}`.trim();
      const raw = RAW_BODIES[`${method} ${path}`];
      if (raw && op.requestBody === undefined)
        op.requestBody = {
          required: true,
          description: raw.description,
          content: { [raw.mediaType]: { schema: { type: "string" } } },
        };
      op.responses = { ...commonProblems(method, op), ...op.responses };
      // OpenAPI 3.1 allows role lists for non-OAuth schemes, but linters and client generators read
      // them as OAuth scopes: the permission moves to `x-permission` and the requirement names the scheme
      const permission = [...new Set((op.security ?? []).flatMap((s) => Object.values(s).flat()))][0];
      if (permission) {
        op["x-permission"] = permission;
        op.security = (op.security ?? []).map((s) => Object.fromEntries(Object.keys(s).map((k) => [k, []])));
      }
      for (const tag of op.tags ?? []) usedTags.add(tag);
    }
  }
  const unknown = [...usedTags].filter((t) => !(t in TAGS));
  if (unknown.length > 0)
    throw new Error(`tags without a description in src/http/openapi.ts: ${unknown.join(", ")}`);
  doc.tags = Object.entries(TAGS)
    .filter(([name]) => usedTags.has(name))
    .map(([name, description]) => ({ name, description }));
  // a relative URL: the API is where the document is served, unless KEEL_PUBLIC_URL says otherwise
  doc.servers = [{ url: serverUrl ?? "/", description: "This Keel" }];
  doc.components ??= {};
  doc.components.schemas = { ...(doc.components.schemas ?? {}), Problem: PROBLEM };
  return doc;
}
