import { sql } from "kysely";
import type { Tx } from "../../db/tx.js";
import { emit } from "../../events/outbox.js";
import { NotFound } from "../../http/errors.js";
import { type Channel, findChannel } from "../../orders/channels.js";
import { maskChannel, patchConfig, sealConfig } from "./config.js";

/** Changing a channel's name and connector settings (PATCH /v1/channels/{code}). */

export interface ChannelPatch {
  name?: string;
  config?: Record<string, unknown>;
}

/** PATCH /v1/channels/{code}: the row locked, the config merged and checked, an event; returns it masked. */
export async function updateChannel(tx: Tx, code: string, patch: ChannelPatch): Promise<Channel> {
  const row = await tx
    .selectFrom("channels")
    .select(["id", "kind", "config"])
    .where("code", "=", code)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new NotFound("channel", code);
  const current = (row.config ?? {}) as Record<string, unknown>;
  const config = patch.config ? sealConfig(patchConfig(row.kind, current, patch.config)) : current;
  await sql`update channels set name = coalesce(${patch.name ?? null}, name), config = ${JSON.stringify(config)}::jsonb,
              updated_at = now() where id = ${row.id}`.execute(tx);
  const channel = maskChannel((await findChannel(tx, code))!);
  await emit(tx, [{ type: "channel.updated", payload: channel }]);
  return channel;
}
