/** The one way the app talks to Keel: same origin, the session cookie, problem+json errors in words. */

export interface FieldError {
  path: string;
  message: string;
}

/** A failed call, carrying what Keel said: `detail` and, for invalid input, the field `errors`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail);
  }
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

let csrfToken: string | null = null;
/** Remembers the CSRF token the session hands out; sent on every write. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, q: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q))
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? "GET";
  const headers: Record<string, string> = { accept: "application/json" };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") {
    // a retried click never applies twice: each call is one idempotent write
    headers["idempotency-key"] = crypto.randomUUID();
    if (csrfToken) headers["x-csrf-token"] = csrfToken;
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch {
    throw new ApiError(0, "network", "Keel cannot be reached. Check the connection and try again.");
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const p = (json ?? {}) as { detail?: string; title?: string; code?: string; errors?: FieldError[] };
    throw new ApiError(
      res.status,
      p.code ?? "http_error",
      p.detail || p.title || `${res.status} ${res.statusText || "error"}`,
      Array.isArray(p.errors) ? p.errors : [],
    );
  }
  return json as T;
}

export const get = <T>(path: string, q?: Query) => api<T>(withQuery(path, q));
export const post = <T>(path: string, body?: unknown) => api<T>(path, { method: "POST", body: body ?? {} });

/** Every page of a list, for queues that need all of it (capped: counts over the cap show as "500+"). */
export async function firstPage<T>(path: string, q: Query = {}, limit = 500): Promise<Page<T>> {
  return get<Page<T>>(path, { ...q, limit });
}
export const patch = <T>(path: string, body: unknown) => api<T>(path, { method: "PATCH", body });
export const put = <T>(path: string, body: unknown) => api<T>(path, { method: "PUT", body });
export const del = <T>(path: string) => api<T>(path, { method: "DELETE" });
