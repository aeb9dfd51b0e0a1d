import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { Conflict, ValidationFailed } from "../http/errors.js";
import { stockArrived } from "../inventory/arrivals.js";
import { resolveLocations } from "../inventory/refs.js";
import type { Deltas, StockChange } from "../inventory/stock.js";
import { changeStock } from "../inventory/stock.js";
import { factsOf, lockReturn, type ReturnLineRow, type ReturnRow, unitsOf } from "./core.js";
import type { Condition, Disposition } from "./tables.js";
import { checkAction, RETURN_TRANSITIONS, recordReturnStep } from "./transitions.js";

export interface InspectionLine {
  sku: string;
  quantity: number;
  condition: Condition;
  disposition: Disposition;
  note?: string;
}

export interface ReceiveRequest {
  location?: string;
  lines: { sku: string; quantity: number; condition?: Condition; disposition?: Disposition; note?: string }[];
}

/** Where each disposition sends units waiting in return_pending, and the ledger reason it uses. */
const DISPOSITIONS: Record<Disposition, { deltas: (q: number) => Deltas; reason: string }> = {
  restock: { deltas: (q) => ({ return_pending: -q, on_hand: q }), reason: "restock" },
  quarantine: { deltas: (q) => ({ return_pending: -q, quarantine: q }), reason: "return_disposition" },
  refurbish: { deltas: (q) => ({ return_pending: -q, quarantine: q }), reason: "return_disposition" },
  scrap: { deltas: (q) => ({ return_pending: -q }), reason: "scrap" },
};

function lineBySku(lines: ReturnLineRow[], sku: string, path: string): ReturnLineRow {
  const line = lines.find((l) => l.sku === sku);
  if (!line) throw new ValidationFailed([{ path, message: `${sku} is not on this return` }]);
  return line;
}

/**
 * The parcel arrives: units go into return_pending at the receiving location
 * (reason `return`). Lines that already carry a condition and disposition are
 * inspected in the same step.
 */
export async function receiveReturn(
  tx: Tx,
  key: string | number,
  req: ReceiveRequest,
  actor: string,
): Promise<number> {
  const { ret, lines } = await lockReturn(tx, key);
  const facts = factsOf(ret, lines);
  checkAction(facts, "receive");
  let locationId = ret.location_id;
  if (req.location) {
    const loc = (await resolveLocations(tx, [{ code: req.location, path: "body.location" }])).get(
      req.location,
    )!;
    if (facts.received > 0 && ret.location_id !== loc.id) {
      throw new ValidationFailed([
        { path: "body.location", message: "units of this return were received elsewhere" },
      ]);
    }
    locationId = loc.id;
  }
  if (locationId === null) {
    throw new ValidationFailed([{ path: "body.location", message: "say where the return is received" }]);
  }
  const receipt = req.lines.map((l, i) => {
    const line = lineBySku(lines, l.sku, `body.lines.${i}.sku`);
    if (l.quantity > line.quantity - line.received) {
      throw new ValidationFailed([
        { path: `body.lines.${i}.quantity`, message: `only ${line.quantity - line.received} expected` },
      ]);
    }
    if ((l.condition === undefined) !== (l.disposition === undefined)) {
      throw new ValidationFailed([
        {
          path: `body.lines.${i}.disposition`,
          message: "give condition and disposition together, or neither",
        },
      ]);
    }
    return { line, ...l };
  });
  const units = await unitsOf(
    tx,
    receipt.map((r) => r.line.order_line_id),
  );
  const reference = `return:${ret.number}`;
  const changes: StockChange[] = receipt.flatMap((r) =>
    (units.get(r.line.order_line_id) ?? []).map((u) => ({
      variantId: u.variantId,
      locationId: locationId as number,
      deltas: { return_pending: r.quantity * u.perUnit },
      reason: "return",
      reference,
    })),
  );
  await changeStock(tx, changes, { actor, guardFree: false });
  for (const r of receipt) {
    await tx
      .updateTable("return_lines")
      .set((eb) => ({ received: eb("received", "+", r.quantity) }))
      .where("id", "=", r.line.id)
      .execute();
    r.line.received += r.quantity;
  }
  await tx.updateTable("returns").set({ location_id: locationId }).where("id", "=", ret.id).execute();
  await recordReturnStep(tx, ret.id, { from: ret.status, to: "received", action: "receive", actor });
  await emit(tx, [
    { type: "return.received", payload: { id: ret.id, number: ret.number, order_id: ret.order_id } },
  ]);
  const inspections = receipt.filter((r) => r.disposition !== undefined) as InspectionLine[];
  if (inspections.length) {
    await inspectLocked(
      tx,
      { ...ret, status: "received", location_id: locationId },
      lines,
      inspections,
      actor,
    );
  }
  return ret.id;
}

/** Each inspected unit gets a condition and a disposition, and moves out of return_pending accordingly. */
export async function inspectReturn(
  tx: Tx,
  key: string | number,
  inspections: InspectionLine[],
  actor: string,
) {
  const { ret, lines } = await lockReturn(tx, key);
  return inspectLocked(tx, ret, lines, inspections, actor);
}

async function inspectLocked(
  tx: Tx,
  ret: ReturnRow,
  lines: ReturnLineRow[],
  inspections: InspectionLine[],
  actor: string,
): Promise<number> {
  checkAction(factsOf(ret, lines), "inspect");
  const pending = new Map(lines.map((l) => [l.id, l.received - l.inspected]));
  const checked = inspections.map((i, n) => {
    const line = lineBySku(lines, i.sku, `body.lines.${n}.sku`);
    const left = pending.get(line.id) ?? 0;
    if (i.quantity > left) {
      throw new ValidationFailed([
        { path: `body.lines.${n}.quantity`, message: `only ${left} received and not inspected` },
      ]);
    }
    pending.set(line.id, left - i.quantity);
    return { line, ...i };
  });
  const units = await unitsOf(
    tx,
    checked.map((c) => c.line.order_line_id),
  );
  const reference = `return:${ret.number}`;
  const changes: StockChange[] = checked.flatMap((c) =>
    (units.get(c.line.order_line_id) ?? []).map((u) => ({
      variantId: u.variantId,
      locationId: ret.location_id as number,
      deltas: DISPOSITIONS[c.disposition].deltas(c.quantity * u.perUnit),
      reason: DISPOSITIONS[c.disposition].reason,
      reference,
      note: c.disposition === "refurbish" ? `refurbish${c.note ? `: ${c.note}` : ""}` : (c.note ?? null),
    })),
  );
  const result = await changeStock(tx, changes, { actor, guardFree: false });
  if (result.refused.length) {
    throw new Conflict(
      "The returned units are no longer in return_pending at the receiving location; someone moved them by hand",
    );
  }
  for (const c of checked) {
    await tx
      .insertInto("return_inspections")
      .values({
        return_line_id: c.line.id,
        quantity: c.quantity,
        condition: c.condition,
        disposition: c.disposition,
        note: c.note ?? null,
        actor,
      })
      .execute();
    await tx
      .updateTable("return_lines")
      .set((eb) => ({ inspected: eb("inspected", "+", c.quantity) }))
      .where("id", "=", c.line.id)
      .execute();
    c.line.inspected += c.quantity;
  }
  const restocked = changes.filter((c) => (c.deltas.on_hand ?? 0) > 0);
  await stockArrived(
    tx,
    restocked.map((c) => ({ variantId: c.variantId, locationId: c.locationId })),
  );
  const to = RETURN_TRANSITIONS.inspect.to(factsOf(ret, lines));
  await recordReturnStep(tx, ret.id, { from: ret.status, to, action: "inspect", actor });
  await emit(tx, [
    {
      type: "return.inspected",
      payload: {
        id: ret.id,
        number: ret.number,
        lines: checked.map((c) => ({
          sku: c.sku,
          quantity: c.quantity,
          condition: c.condition,
          disposition: c.disposition,
        })),
      },
    },
  ]);
  return ret.id;
}
