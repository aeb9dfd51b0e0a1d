import type { Tx } from "../db/tx.js";

/**
 * Stock arriving at a location (an adjustment up, a transfer or purchase
 * receipt, a restocked return) is announced here, in the transaction that
 * brought it, so waiting demand — backordered order lines — can take it in
 * the same commit. Modules that wait for stock register a listener.
 */
export type ArrivalListener = (tx: Tx, arrived: { variantId: number; locationId: number }[]) => Promise<void>;

const listeners: ArrivalListener[] = [];

export function onStockArrival(listener: ArrivalListener): void {
  listeners.push(listener);
}

export async function stockArrived(
  tx: Tx,
  arrived: { variantId: number; locationId: number }[],
): Promise<void> {
  if (arrived.length === 0) return;
  for (const listener of listeners) await listener(tx, arrived);
}
