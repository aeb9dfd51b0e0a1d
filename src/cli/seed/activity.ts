import type { DB } from "../../db/pool.js";
import { seedDemoOrders } from "../../orders/demo.js";
import { seedDemoPurchasing } from "../../purchasing/demo.js";
import { seedDemoReturns } from "../../returns/demo.js";

export interface ActivityResult {
  purchasing: string;
  orders: number;
  returns: number;
  ms: number;
}

/**
 * Life on top of the demo catalogue, made through the services so every unit
 * moves through the ledger: suppliers and open purchase orders first (they
 * give backorders their expected dates), then orders in every state, then
 * returns of what shipped.
 */
export async function seedDemoActivity(db: DB): Promise<ActivityResult> {
  const started = performance.now();
  const purchasing = await seedDemoPurchasing(db);
  const orders = await seedDemoOrders(db);
  const returns = await seedDemoReturns(db);
  return {
    purchasing: purchasing.skipped
      ? `skipped (${purchasing.reason})`
      : "suppliers, purchase orders, reorder rules, a count",
    orders: orders.created,
    returns: returns.created,
    ms: Math.round(performance.now() - started),
  };
}
