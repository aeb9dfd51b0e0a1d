import { catalogRoutes } from "./catalog/routes.js";
import { countRoutes } from "./counts/routes.js";
import { eventRoutes } from "./events/routes.js";
import type { App, AppDeps } from "./http/app.js";
import { inventoryRoutes } from "./inventory/routes.js";
import { orderRoutes } from "./orders/routes.js";
import { purchasingRoutes } from "./purchasing/routes.js";
import { replenishmentRoutes } from "./replenishment/routes.js";
import { returnRoutes } from "./returns/routes.js";

/** Every module's routes, registered in this order. One line per module. */
export const routes: Array<(app: App, deps: AppDeps) => Promise<void>> = [
  eventRoutes,
  inventoryRoutes,
  catalogRoutes,
  orderRoutes,
  purchasingRoutes,
  replenishmentRoutes,
  countRoutes,
  returnRoutes,
];
