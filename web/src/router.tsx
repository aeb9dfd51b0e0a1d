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

export const router = createRouter({
  routeTree: root.addChildren([today, ordersRoute, orderRoute, pick, stock, ledgerRoute]),
  defaultPreload: "intent",
});

declare module "@tanstack/react-router" {
  interface Register {
    router: typeof router;
  }
}
