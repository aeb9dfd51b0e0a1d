import { sql } from "kysely";
import { z } from "zod";
import type { DB } from "../db/pool.js";
import type { ChannelKind } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { Conflict, ValidationFailed } from "../http/errors.js";
import { checkNewConfig, maskChannel, sealConfig } from "../integrations/channels/config.js";

/**
 * Sales channels, minimal for now: what orders need from them (a code to
 * name them by, SLA hours, whether an order may ship in several parcels).
 * Webhooks and sync build on this table later.
 */

export const ChannelCode = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "lower-case letters, digits, _ and -");

export const ChannelConfig = z
  .looseObject({
    sla_hours: z
      .number()
      .int()
      .min(1)
      .max(24 * 365)
      .optional()
      .describe("hours from placement to shipment promised on this channel"),
    allow_split: z.boolean().optional().describe("may an order ship from several locations (default true)"),
  })
  .describe("channel settings; keys other than these are kept for integrations");

export interface Channel {
  id: number;
  code: string;
  kind: ChannelKind;
  name: string;
  config: z.infer<typeof ChannelConfig>;
  created_at: string;
}

export interface ChannelRequest {
  kind: ChannelKind;
  name: string;
  code?: string;
  config?: z.infer<typeof ChannelConfig>;
}

/** A code from a name: "Shopify EU" → "shopify-eu". */
export function codeFromName(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64);
  return slug || "channel";
}

export async function createChannel(tx: Tx, req: ChannelRequest): Promise<Channel> {
  const code = req.code ?? codeFromName(req.name);
  if (!ChannelCode.safeParse(code).success) {
    throw new ValidationFailed([
      { path: "body.code", message: "give a code: lower-case letters, digits, _ and -" },
    ]);
  }
  const config = checkNewConfig(req.kind, req.config ?? {});
  const inserted = await sql<{ id: number }>`
    insert into channels (code, kind, name, config)
    values (${code}, ${req.kind}, ${req.name}, ${JSON.stringify(sealConfig(config))})
    on conflict (code) do nothing returning id`.execute(tx);
  if (inserted.rows.length === 0)
    throw new Conflict(`A channel with code ${JSON.stringify(code)} exists`, { code });
  // secrets are write-only: neither the reply nor the event carries them
  const channel = maskChannel((await findChannel(tx, code))!);
  await emit(tx, [{ type: "channel.created", payload: channel }]);
  return channel;
}

/** Every channel as replies show it (secrets as "***"). */
export async function listChannels(db: DB | Tx): Promise<Channel[]> {
  const rows = await db.selectFrom("channels").selectAll().orderBy("id").execute();
  return rows.map((r) => maskChannel(view(r)));
}

export async function findChannel(db: DB | Tx, code: string): Promise<Channel | undefined> {
  const row = await db.selectFrom("channels").selectAll().where("code", "=", code).executeTakeFirst();
  return row ? view(row) : undefined;
}

/** A channel by code; unknown codes are a 422 naming the field. */
export async function requireChannel(db: DB | Tx, code: string, path = "body.channel"): Promise<Channel> {
  const channel = await findChannel(db, code);
  if (!channel) {
    throw new ValidationFailed([
      { path, message: `unknown channel ${JSON.stringify(code)}; create it with POST /v1/channels` },
    ]);
  }
  return channel;
}

export const allowsSplit = (c: Pick<Channel, "config">) => c.config.allow_split !== false;

function view(r: {
  id: number;
  code: string;
  kind: ChannelKind;
  name: string;
  config: unknown;
  created_at: Date | string;
}): Channel {
  return {
    id: r.id,
    code: r.code,
    kind: r.kind,
    name: r.name,
    config: (r.config ?? {}) as Channel["config"],
    created_at: new Date(r.created_at).toISOString(),
  };
}
