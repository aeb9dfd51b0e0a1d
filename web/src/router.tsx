import { Button, Stack, Text } from "@mantine/core";
import { createRootRoute, createRoute, createRouter, Link, lazyRouteComponent } from "@tanstack/react-router";
import { useTranslation } from "react-i18next";
import { Shell } from "./Shell";
import { ErrorView } from "./ui";

const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);

function NotFound() {
  const { t } = useTranslation();
  return (
    <Stack>
      <Text>{t("app.notFound")}</Text>
      <Button component={Link} to="/" w="fit-content">
        {t("nav.today")}
      </Button>
    </Stack>
  );
}

const root = createRootRoute({
  component: Shell,
  notFoundComponent: NotFound,
  errorComponent: ({ error, reset }) => <ErrorView error={error} onRetry={reset} />,
});

export interface OrdersSearch {
  status?: string;
  channel?: string;
  hold_reason?: string;
  overdue?: string;
  payment_status?: string;
  location?: string;
}
export interface LedgerSearch {
  sku?: string;
  location?: string;
  reason?: string;
  reference?: string;
}

const today = createRoute({
  getParentRoute: () => root,
  path: "/",
  component: lazyRouteComponent(() => import("./pages/Today"), "TodayPage"),
});
export const ordersRoute = createRoute({
  getParentRoute: () => root,
  path: "/orders",
  validateSearch: (s: Record<string, unknown>): OrdersSearch => ({
    status: str(s.status),
    channel: str(s.channel),
    hold_reason: str(s.hold_reason),
    payment_status: str(s.payment_status),
    location: str(s.location),
    overdue: s.overdue === "true" || s.overdue === true ? "true" : undefined,
  }),
  component: lazyRouteComponent(() => import("./pages/Orders"), "OrdersPage"),
});
export const orderRoute = createRoute({
  getParentRoute: () => root,
  path: "/orders/$id",
  component: lazyRouteComponent(() => import("./pages/OrderDetail"), "OrderDetailPage"),
});
const pick = createRoute({
  getParentRoute: () => root,
  path: "/pick",
  component: lazyRouteComponent(() => import("./pages/Pick"), "PickPage"),
});
const stock = createRoute({
  getParentRoute: () => root,
  path: "/stock",
  component: lazyRouteComponent(() => import("./pages/Stock"), "StockPage"),
});
export const ledgerRoute = createRoute({
  getParentRoute: () => root,
  path: "/ledger",
  validateSearch: (s: Record<string, unknown>): LedgerSearch => ({
    sku: str(s.sku),
    location: str(s.location),
    reason: str(s.reason),
    reference: str(s.reference),
  }),
  component: lazyRouteComponent(() => import("./pages/Ledger"), "LedgerPage"),
});

export interface PurchasingSearch {
  tab?: "orders" | "suggestions" | "suppliers";
  status?: string;
}
export const purchasingRoute = createRoute({
  getParentRoute: () => root,
  path: "/purchasing",
  validateSearch: (s: Record<string, unknown>): PurchasingSearch => ({
    tab: s.tab === "suggestions" || s.tab === "suppliers" ? s.tab : undefined,
    status: str(s.status),
  }),
  component: lazyRouteComponent(() => import("./pages/Purchasing"), "PurchasingPage"),
});
export const purchaseOrderRoute = createRoute({
  getParentRoute: () => root,
  path: "/purchasing/$id",
  component: lazyRouteComponent(() => import("./pages/PurchaseOrder"), "PurchaseOrderPage"),
});
export interface ReturnsSearch {
  status?: string;
}
export const returnsRoute = createRoute({
  getParentRoute: () => root,
  path: "/returns",
  validateSearch: (s: Record<string, unknown>): ReturnsSearch => ({ status: str(s.status) }),
  component: lazyRouteComponent(() => import("./pages/Returns"), "ReturnsPage"),
});
export const returnRoute = createRoute({
  getParentRoute: () => root,
  path: "/returns/$id",
  component: lazyRouteComponent(() => import("./pages/ReturnDetail"), "ReturnDetailPage"),
});
const counts = createRoute({
  getParentRoute: () => root,
  path: "/counts",
  component: lazyRouteComponent(() => import("./pages/Counts"), "CountsPage"),
});
export const countRoute = createRoute({
  getParentRoute: () => root,
  path: "/counts/$id",
  component: lazyRouteComponent(() => import("./pages/CountDetail"), "CountDetailPage"),
});
export interface ReportsSearch {
  tab?: string;
  report?: string;
  days?: string;
  by?: string;
}
export const reportsRoute = createRoute({
  getParentRoute: () => root,
  path: "/reports",
  validateSearch: (s: Record<string, unknown>): ReportsSearch => ({
    tab: str(s.tab),
    report: str(s.report),
    days: str(s.days) ?? (typeof s.days === "number" ? String(s.days) : undefined),
    by: str(s.by),
  }),
  component: lazyRouteComponent(() => import("./pages/Reports"), "ReportsPage"),
});
export const drillRoute = createRoute({
  getParentRoute: () => root,
  path: "/reports/rows",
  validateSearch: (s: Record<string, unknown>): { path?: string } => ({ path: str(s.path) }),
  component: lazyRouteComponent(() => import("./pages/Reports"), "DrillPage"),
});
const integrations = createRoute({
  getParentRoute: () => root,
  path: "/integrations",
  component: lazyRouteComponent(() => import("./pages/Integrations"), "IntegrationsPage"),
});
export interface AccessSearch {
  tab?: string;
  entity_type?: string;
  entity_id?: string;
  actor?: string;
}
export const accessRoute = createRoute({
  getParentRoute: () => root,
  path: "/access",
  validateSearch: (s: Record<string, unknown>): AccessSearch => ({
    tab: str(s.tab),
    entity_type: str(s.entity_type),
    entity_id: str(s.entity_id),
    actor: str(s.actor),
  }),
  component: lazyRouteComponent(() => import("./pages/Access"), "AccessPage"),
});

const catalog = createRoute({
  getParentRoute: () => root,
  path: "/catalog",
  component: lazyRouteComponent(() => import("./pages/Catalog"), "CatalogPage"),
});
const transfers = createRoute({
  getParentRoute: () => root,
  path: "/transfers",
  component: lazyRouteComponent(() => import("./pages/Transfers"), "TransfersPage"),
});
export const pickListRoute = createRoute({
  getParentRoute: () => root,
  path: "/pick-list",
  validateSearch: (s: Record<string, unknown>): { ids?: string } => ({ ids: str(s.ids) }),
  component: lazyRouteComponent(() => import("./pages/PickList"), "PickListPage"),
});
const settings = createRoute({
  getParentRoute: () => root,
  path: "/settings",
  component: lazyRouteComponent(() => import("./pages/Settings"), "SettingsPage"),
});

export const router = createRouter({
  routeTree: root.addChildren([
    today,
    ordersRoute,
    orderRoute,
    pick,
    stock,
    ledgerRoute,
    purchasingRoute,
    purchaseOrderRoute,
    returnsRoute,
    returnRoute,
    counts,
    countRoute,
    reportsRoute,
    drillRoute,
    integrations,
    accessRoute,
    catalog,
    transfers,
    settings,
    pickListRoute,
  ]),
  defaultPreload: "intent",
});

declare module "@tanstack/react-router" {
  interface Register {
    router: typeof router;
  }
}
