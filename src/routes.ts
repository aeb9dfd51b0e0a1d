import { auditRoutes } from "./access/audit-routes.js";
import { accessRoutes } from "./access/routes.js";
import { alertRoutes } from "./alerts/routes.js";
import { approvalRoutes } from "./approvals/routes.js";
import { catalogRoutes } from "./catalog/routes.js";
import { countRoutes } from "./counts/routes.js";
import { eventRoutes } from "./events/routes.js";
import { financeRoutes } from "./finance/routes.js";
import type { App, AppDeps } from "./http/app.js";
import { channelInboxRoutes } from "./integrations/channels/inbox-routes.js";
import { shopifyRoutes } from "./integrations/channels/shopify/routes.js";
import { importRoutes } from "./integrations/csv/import-routes.js";
import { csvRoutes } from "./integrations/csv/routes.js";
import { monitorRoutes } from "./integrations/monitor/routes.js";
import { stockFeedRoutes } from "./integrations/stock-feed/routes.js";
import { stockPolicyRoutes } from "./integrations/stock-policy/routes.js";
import { webhookRoutes } from "./integrations/webhooks/routes.js";
import { inventoryRoutes } from "./inventory/routes.js";
import { notificationRoutes } from "./notifications/routes.js";
import { orderRoutes } from "./orders/routes.js";
import { purchasingRoutes } from "./purchasing/routes.js";
import { replenishmentRoutes } from "./replenishment/routes.js";
import { reportRoutes } from "./reports/routes.js";
import { returnRoutes } from "./returns/routes.js";
import { storefrontRoutes } from "./storefront/routes.js";

/** Every module's routes, registered in this order. One line per module. */
export const routes: Array<(app: App, deps: AppDeps) => Promise<void>> = [
  storefrontRoutes,
  eventRoutes,
  inventoryRoutes,
  catalogRoutes,
  orderRoutes,
  purchasingRoutes,
  replenishmentRoutes,
  countRoutes,
  returnRoutes,
  csvRoutes,
  importRoutes,
  stockFeedRoutes,
  stockPolicyRoutes,
  webhookRoutes,
  monitorRoutes,
  shopifyRoutes,
  auditRoutes,
  accessRoutes,
  channelInboxRoutes,
  reportRoutes,
  alertRoutes,
  financeRoutes,
  notificationRoutes,
  approvalRoutes,
];
