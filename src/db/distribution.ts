/**
 * The Citus distribution plan (docs/scaling.md), as data that
 * test/distribution-plan.test.ts holds to the migrations through pg_catalog.
 *
 * - `distributed`: hash-distributed on `column`; tables in one `group` are
 *   co-located (same shard for the same value), so joins and foreign keys
 *   inside a group stay on one node.
 * - `reference`: one full copy on every node (catalogue, locations, settings,
 *   configuration and other small, rarely written tables).
 * - `local`: stays on the coordinator only (citus_add_local_table_to_metadata):
 *   work queues, singletons and bookkeeping that no distributed query joins.
 *
 * Nothing here is executed against Keel's database: Keel runs on one
 * PostgreSQL today. The plan says what `create_distributed_table` and
 * `create_reference_table` would be called with, and the check keeps new
 * migrations from drifting away from it unnoticed.
 */

export type Placement =
  | { kind: "distributed"; column: string; group: ColocationGroup }
  | { kind: "reference" }
  | { kind: "local" };

/** Co-location groups: each is hashed on one bigint (or text) value. */
export type ColocationGroup =
  | "variant"
  | "order"
  | "reservation"
  | "event"
  | "audit"
  | "journal"
  | "idempotency";

const byVariant: Placement = { kind: "distributed", column: "variant_id", group: "variant" };
const byOrder: Placement = { kind: "distributed", column: "order_id", group: "order" };
const reference: Placement = { kind: "reference" };
const local: Placement = { kind: "local" };

export const distributionPlan: Record<string, Placement> = {
  // stock: every level, movement and reservation line of a variant on one shard
  inventory_levels: byVariant,
  inventory_movements: byVariant,
  reservation_lines: byVariant,
  stock_feed_state: byVariant,
  variant_costs: byVariant,
  cost_changes: byVariant,
  count_lines: byVariant,
  sales_daily: byVariant,
  sales_last_day: byVariant,
  sales_value_daily: byVariant,
  demand_forecasts: byVariant,
  abc_rollup_rows: byVariant,
  // a reservation's header: its lines live with their variants
  reservations: { kind: "distributed", column: "id", group: "reservation" },

  // an order and everything that happens to it after placement
  orders: { kind: "distributed", column: "id", group: "order" },
  order_lines: byOrder,
  // drop-shipped units of an order's lines, on the supplier's purchase order (a reference table)
  dropship_lines: byOrder,
  order_allocations: byOrder,
  order_payments: byOrder,
  order_timeline: byOrder,
  order_facts: byOrder,
  fulfillments: byOrder,
  fulfillment_lines: byOrder,
  channel_orders: byOrder,
  channel_fulfillments: byOrder,
  channel_refunds: byOrder,
  customer_notifications: byOrder,
  invoices: byOrder,
  invoice_lines: byOrder,
  credit_notes: byOrder,
  returns: byOrder,
  return_lines: byOrder,
  return_inspections: byOrder,
  return_refunds: byOrder,
  return_timeline: byOrder,

  // events and their deliveries; the audit trail; the finance journal; retry keys
  outbox_events: { kind: "distributed", column: "id", group: "event" },
  webhook_deliveries: { kind: "distributed", column: "event_id", group: "event" },
  audit_log: { kind: "distributed", column: "id", group: "audit" },
  audit_seals: { kind: "distributed", column: "id", group: "audit" },
  journal_entries: { kind: "distributed", column: "id", group: "journal" },
  journal_lines: { kind: "distributed", column: "entry_id", group: "journal" },
  idempotency_keys: { kind: "distributed", column: "key", group: "idempotency" },

  // catalogue, locations, settings and configuration: a copy on every node
  products: reference,
  variants: reference,
  bundle_components: reference,
  pick_bins: reference,
  locations: reference,
  location_receiving: reference,
  settings: reference,
  movement_reasons: reference,
  document_counters: reference,
  channels: reference,
  channel_stock_policies: reference,
  suppliers: reference,
  supplier_items: reference,
  reorder_rules: reference,
  purchase_orders: reference,
  purchase_order_lines: reference,
  receipts: reference,
  receipt_lines: reference,
  transfers: reference,
  transfer_lines: reference,
  count_sessions: reference,
  abc_rollups: reference,
  users: reference,
  roles: reference,
  role_permissions: reference,
  user_roles: reference,
  api_keys: reference,
  api_key_roles: reference,
  webhook_subscriptions: reference,
  notification_targets: reference,

  // coordinator only: queues, cursors, singletons, sign-in bookkeeping
  schema_migrations: local,
  job_ticks: local,
  sessions: local,
  login_failures: local,
  approvals: local,
  approval_decisions: local,
  alerts: local,
  alert_evaluations: local,
  notifications: local,
  outbox_cursors: local,
  sales_rollup: local,
  sales_value_rollup: local,
  order_facts_rollup: local,
  integration_failures: local,
  imports: local,
  channel_inbox: local,
  channel_inventory_levels: local,
  channel_woo_items: local,
  shopify_channel_state: local,
  shopify_inventory_items: local,
  shopify_stock_targets: local,
  shopify_shipments: local,
  shopify_product_pushes: local,
  woo_shipments: local,
  shopify_sync_jobs: local,
  stock_feed_pulls: local,
};

/**
 * How each kind of departure from the plan is handled when Keel moves to
 * Citus. Every constraint today's schema has that Citus would refuse is
 * listed in `planExceptions` with one of these; the test fails on any
 * departure not listed, and on any listing that no longer departs.
 */
export const handling = {
  widenKey:
    "surrogate id key: becomes (distribution column, id) under Citus; the id stays unique on its own " +
    "because one sequence on the coordinator issues it; lookups by the bare id fan out to every shard " +
    "unless the route carries the parent (order, variant) id",
  globalUnique:
    "business key unique across shards (numbers, channel external ids, hashes): kept by a lookup table " +
    "distributed on that key and written in the same transaction (a two-shard, two-phase commit), " +
    "or issued by a sequence so it is unique by construction and the index is widened",
  missingColumn:
    "row lacks the distribution column: a migration adds it, backfills it from the parent and makes " +
    "the keys and foreign keys composite before create_distributed_table",
  compositeFk:
    "foreign key to a surrogate id in the same group: becomes (distribution column, id) -> " +
    "(distribution column, id) once the referenced key is widened; stays co-located",
  crossGroupFk:
    "foreign key between different co-location groups (or two rows of one group with different values): " +
    "dropped under Citus; the service writes both rows in one transaction (a keel doctor check of the pairs comes with the migration that drops it)",
} as const;

export type Handling = keyof typeof handling;

/**
 * The reviewed list: `<table>.<constraint or unique index name>` -> handling.
 * Found by the check in distribution-check.ts over today's migrations.
 */
export const planExceptions: Record<string, Handling> = {
  // stock
  "inventory_movements.inventory_movements_pkey": "widenKey",
  "cost_changes.cost_changes_pkey": "widenKey",
  "reservation_lines.reservation_lines_pkey": "widenKey",
  "reservation_lines.reservation_lines_reservation_id_fkey": "crossGroupFk",
  // orders
  "orders.orders_number_key": "globalUnique",
  "orders.orders_channel_id_external_id_key": "globalUnique",
  "order_lines.order_lines_pkey": "widenKey",
  "order_allocations.order_allocations_pkey": "widenKey",
  "order_allocations.order_allocations_line_id_variant_id_location_id_key": "widenKey",
  "order_allocations.order_allocations_line_id_fkey": "compositeFk",
  "order_payments.order_payments_pkey": "widenKey",
  // (purchase_order_id, order_line_id) becomes (order_id, purchase_order_id, order_line_id)
  "dropship_lines.dropship_lines_pkey": "widenKey",
  "dropship_lines.dropship_lines_order_line_id_fkey": "compositeFk",
  "order_timeline.order_timeline_pkey": "widenKey",
  "fulfillments.fulfillments_pkey": "widenKey",
  "fulfillment_lines.order_id": "missingColumn",
  "channel_orders.channel_orders_pkey": "globalUnique",
  "channel_fulfillments.channel_fulfillments_pkey": "globalUnique",
  "channel_refunds.channel_refunds_pkey": "globalUnique",
  "customer_notifications.customer_notifications_pkey": "widenKey",
  "invoices.invoices_pkey": "widenKey",
  "invoices.invoices_number_key": "globalUnique",
  "invoices.invoices_year_seq_key": "globalUnique",
  "invoices.invoices_fulfillment_id_key": "widenKey",
  "invoices.invoices_fulfillment_id_fkey": "compositeFk",
  "invoice_lines.order_id": "missingColumn",
  "credit_notes.credit_notes_pkey": "widenKey",
  "credit_notes.credit_notes_number_key": "globalUnique",
  "credit_notes.credit_notes_year_seq_key": "globalUnique",
  "credit_notes.credit_notes_payment_id_invoice_id_key": "widenKey",
  "credit_notes.credit_notes_invoice_id_fkey": "compositeFk",
  "credit_notes.credit_notes_payment_id_fkey": "compositeFk",
  "returns.returns_pkey": "widenKey",
  "returns.returns_number_key": "globalUnique",
  "returns.returns_exchange_order_id_fkey": "crossGroupFk",
  "return_lines.order_id": "missingColumn",
  "return_inspections.order_id": "missingColumn",
  "return_refunds.order_id": "missingColumn",
  "return_timeline.order_id": "missingColumn",
  // events, audit, journal
  "webhook_deliveries.webhook_deliveries_pkey": "widenKey",
  "webhook_deliveries.webhook_deliveries_replay_of_fkey": "crossGroupFk",
  "audit_seals.audit_seals_pkey": "widenKey",
  "journal_entries.journal_entries_source_type_source_id_key": "globalUnique",
};
