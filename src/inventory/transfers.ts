import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { InsufficientStock, InvalidTransition, NotFound, ValidationFailed } from "../http/errors.js";
import { stockArrived } from "./arrivals.js";
import { resolveLocations, resolveSkus } from "./refs.js";
import { changeStock } from "./stock.js";

export interface TransferRequest {
  from: string;
  to: string;
  lines: { sku: string; quantity: number }[];
  reference?: string;
}

export interface TransferView {
  id: number;
  from: string;
  to: string;
  status: string;
  reference: string | null;
  created_at: string;
  lines: { sku: string; quantity: number; received: number }[];
}

/**
 * Ships units from one location to another: they leave the source's on_hand
 * now and wait in the destination's `incoming` until received. Only free units
 * can ship; promised ones stay.
 */
export async function createTransfer(tx: Tx, req: TransferRequest, actor: string): Promise<TransferView> {
  if (req.from === req.to)
    throw new ValidationFailed([{ path: "body.to", message: "must differ from `from`" }]);
  const seen = new Set<string>();
  req.lines.forEach((l, i) => {
    if (seen.has(l.sku))
      throw new ValidationFailed([{ path: `body.lines.${i}.sku`, message: "listed twice" }]);
    seen.add(l.sku);
  });
  const locs = await resolveLocations(tx, [
    { code: req.from, path: "body.from" },
    { code: req.to, path: "body.to" },
  ]);
  const items = await resolveSkus(
    tx,
    req.lines.map((l, i) => ({ sku: l.sku, path: `body.lines.${i}.sku` })),
  );
  req.lines.forEach((l, i) => {
    if (items.get(l.sku)!.kind !== "physical") {
      throw new ValidationFailed([
        { path: `body.lines.${i}.sku`, message: "only physical products are transferred" },
      ]);
    }
  });
  const from = locs.get(req.from)!;
  const to = locs.get(req.to)!;
  const transfer = await tx
    .insertInto("transfers")
    .values({
      from_location: from.id,
      to_location: to.id,
      status: "in_transit",
      reference: req.reference ?? null,
      actor,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  await tx
    .insertInto("transfer_lines")
    .values(
      req.lines.map((l) => ({
        transfer_id: transfer.id,
        variant_id: items.get(l.sku)!.id,
        quantity: l.quantity,
      })),
    )
    .execute();
  const reference = `transfer:${transfer.id}`;
  const result = await changeStock(
    tx,
    req.lines.flatMap((l) => [
      {
        variantId: items.get(l.sku)!.id,
        locationId: from.id,
        deltas: { on_hand: -l.quantity },
        reason: "transfer_out",
        reference,
      },
      {
        variantId: items.get(l.sku)!.id,
        locationId: to.id,
        deltas: { incoming: l.quantity },
        reason: "transfer_in",
        reference,
      },
    ]),
    { actor, guardFree: true },
  );
  if (result.refused.length) {
    const free = await sql<{ variant_id: number; free: number }>`
      select variant_id, on_hand - reserved - allocated - safety_stock as free from inventory_levels
      where location_id = ${from.id} and variant_id = any(${req.lines.map((l) => items.get(l.sku)!.id)}::bigint[])`.execute(
      tx,
    );
    const byId = new Map(free.rows.map((r) => [r.variant_id, r.free]));
    throw new InsufficientStock(
      req.lines
        .map((l) => ({
          sku: l.sku,
          requested: l.quantity,
          available: Math.max(0, byId.get(items.get(l.sku)!.id) ?? 0),
          location: req.from,
        }))
        .filter((s) => s.available < s.requested),
    );
  }
  const view = await getTransfer(tx, transfer.id);
  await emit(tx, [{ type: "transfer.created", payload: view }]);
  return view;
}

/** Receives some or all outstanding units; without lines, everything outstanding. */
export async function receiveTransfer(
  tx: Tx,
  id: number,
  req: { lines?: { sku: string; quantity: number }[] },
  actor: string,
): Promise<TransferView> {
  const transfer = await sql<{ id: number; status: string; to_location: number }>`
    select id, status, to_location from transfers where id = ${id} for update`.execute(tx);
  const t = transfer.rows[0];
  if (!t) throw new NotFound("transfer", id);
  if (t.status === "received") throw new InvalidTransition("transfer", t.status, "receive", []);
  const lines = await sql<{ variant_id: number; sku: string; quantity: number; received: number }>`
    select tl.variant_id, v.sku, tl.quantity, tl.received from transfer_lines tl join variants v on v.id = tl.variant_id
    where tl.transfer_id = ${id} order by tl.variant_id`.execute(tx);
  const bySku = new Map(lines.rows.map((l) => [l.sku, l]));
  const receipt = req.lines
    ? req.lines.map((l, i) => {
        const line = bySku.get(l.sku);
        if (!line)
          throw new ValidationFailed([{ path: `body.lines.${i}.sku`, message: "not on this transfer" }]);
        const open = line.quantity - line.received;
        if (l.quantity > open) {
          throw new ValidationFailed([
            { path: `body.lines.${i}.quantity`, message: `only ${open} outstanding` },
          ]);
        }
        return { line, quantity: l.quantity };
      })
    : lines.rows
        .map((line) => ({ line, quantity: line.quantity - line.received }))
        .filter((r) => r.quantity > 0);
  const reference = `transfer:${id}`;
  for (const r of receipt) {
    await sql`update transfer_lines set received = received + ${r.quantity}
              where transfer_id = ${id} and variant_id = ${r.line.variant_id}`.execute(tx);
  }
  const result = await changeStock(
    tx,
    receipt.map((r) => ({
      variantId: r.line.variant_id,
      locationId: t.to_location,
      deltas: { incoming: -r.quantity, on_hand: r.quantity },
      reason: "receipt",
      reference,
    })),
    { actor, guardFree: false },
  );
  if (result.refused.length)
    throw new Error(`transfer ${id} receipt refused: incoming and transfer disagree`);
  await sql`update transfers set updated_at = now(), status = case
      when (select bool_and(received = quantity) from transfer_lines where transfer_id = ${id}) then 'received'
      else 'partially_received' end
    where id = ${id}`.execute(tx);
  await stockArrived(
    tx,
    receipt.map((r) => ({ variantId: r.line.variant_id, locationId: t.to_location })),
  );
  const view = await getTransfer(tx, id);
  await emit(tx, [{ type: "transfer.received", payload: view }]);
  return view;
}

export async function getTransfer(db: DB | Tx, id: number): Promise<TransferView> {
  const t = await sql<{
    id: number;
    from: string;
    to: string;
    status: string;
    reference: string | null;
    created_at: Date;
  }>`
    select t.id, f.code as from, d.code as to, t.status, t.reference, t.created_at
    from transfers t join locations f on f.id = t.from_location join locations d on d.id = t.to_location
    where t.id = ${id}`.execute(db);
  const row = t.rows[0];
  if (!row) throw new NotFound("transfer", id);
  const lines = await sql<{ sku: string; quantity: number; received: number }>`
    select v.sku, tl.quantity, tl.received from transfer_lines tl join variants v on v.id = tl.variant_id
    where tl.transfer_id = ${id} order by v.sku`.execute(db);
  return { ...row, created_at: row.created_at.toISOString(), lines: lines.rows };
}
