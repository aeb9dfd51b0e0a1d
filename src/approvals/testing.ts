import type { TestContext } from "../../test/helpers.js";
import { createApiKey } from "../http/auth.js";

/** Helpers for the approvals tests: principals with given roles, and calls made as them. */

export interface As {
  name: string;
  headers: { authorization: string };
}

let serial = 0;
export async function keyWith(t: TestContext, roles: string[]): Promise<As> {
  serial += 1;
  const name = `${roles.join("+")}-${serial}`;
  const { key } = await createApiKey(t.db, name, { roles });
  return { name, headers: { authorization: `Bearer ${key}` } };
}

export function as(
  t: TestContext,
  who: As | null,
  method: "GET" | "POST" | "PUT" | "PATCH",
  url: string,
  body?: unknown,
) {
  return t.app.inject({
    method,
    url,
    headers: who ? who.headers : t.auth,
    ...(body === undefined ? {} : { payload: body as object }),
  });
}

export async function policies(t: TestContext, patch: Record<string, unknown>) {
  const res = await as(t, null, "PUT", "/v1/settings/approvals", { policies: patch });
  if (res.statusCode !== 200) throw new Error(`PUT /v1/settings/approvals -> ${res.statusCode} ${res.body}`);
  return res.json();
}

export async function auditActions(t: TestContext, approvalId: number): Promise<string[]> {
  const rows = await t.db
    .selectFrom("audit_log")
    .select("action")
    .where("approval_id", "=", approvalId)
    .orderBy("id")
    .execute();
  return rows.map((r) => r.action);
}

/** Expect a 202 held write; returns its approval. */
export function held(res: {
  statusCode: number;
  body: string;
  headers: Record<string, unknown>;
  json(): { approval: Record<string, unknown> } & Record<string, unknown>;
}) {
  if (res.statusCode !== 202) throw new Error(`expected 202, got ${res.statusCode} ${res.body}`);
  const { approval } = res.json();
  if (res.headers.location !== `/v1/approvals/${approval.id}`) throw new Error("no Location header");
  return approval as { id: number; status: string; kind: string; summary: string; expires_at: string };
}
