/** The app's pages in menu order, each with the permission (or any one of several) that offers it. */
export const NAV = [
  { to: "/", key: "nav.today", permission: "order:read" },
  { to: "/orders", key: "nav.orders", permission: "order:read" },
  { to: "/pick", key: "nav.pick", permission: "fulfilment:execute" },
  { to: "/stock", key: "nav.stock", permission: "inventory:read" },
  { to: "/ledger", key: "nav.ledger", permission: "inventory:read" },
  { to: "/transfers", key: "nav.transfers", permission: "inventory:transfer" },
  { to: "/purchasing", key: "nav.purchasing", permission: "po:read" },
  { to: "/returns", key: "nav.returns", permission: "order:read" },
  { to: "/counts", key: "nav.counts", permission: "inventory:read" },
  { to: "/reports", key: "nav.reports", permission: "reports:read" },
  { to: "/integrations", key: "nav.integrations", permission: "integrations:read" },
  { to: "/catalog", key: "nav.catalog", permission: "catalog:read" },
  { to: "/access", key: "nav.access", permission: ["users:manage", "audit:read"] },
  { to: "/settings", key: "nav.settings", permission: "settings:read" },
] as const;

export const allowed = (can: (p: string) => boolean, p: string | readonly string[]) =>
  typeof p === "string" ? can(p) : p.some(can);
