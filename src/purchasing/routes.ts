import { z } from "zod";
import { requires } from "../access/permissions.js";
import { holdForApproval } from "../approvals/gate.js";
import { pendingApproval } from "../approvals/view.js";
import type { App, AppDeps } from "../http/app.js";
import { write } from "../http/idempotency.js";
import { Problem } from "../orders/view-schema.js";
import { costOf } from "./costing.js";
import { shipDropshipOrder } from "./dropship.js";
import { createPurchaseOrder, getPurchaseOrder, listPurchaseOrders } from "./orders.js";
import { receivePurchaseOrder } from "./receipts.js";
import { listReceiving, setReceiving } from "./receiving.js";
import * as S from "./schema.js";
import {
  createSupplier,
  getSupplier,
  listSupplierItems,
  listSuppliers,
  saveSupplierItem,
} from "./suppliers.js";
import { cancelPurchaseOrder, closePurchaseOrder, submitPurchaseOrder } from "./transitions.js";

const tags = ["purchasing"];
const actorOf = (req: { principal?: { actor: string } }) => req.principal?.actor ?? "anonymous";

export async function purchasingRoutes(app: App, { db }: AppDeps) {
  app.post(
    "/v1/suppliers",
    {
      schema: {
        security: requires("po:write"),
        tags,
        summary: "Create a supplier",
        body: S.SupplierBody,
        response: { 201: S.Supplier },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({ status: 201, body: await createSupplier(tx, req.body) })),
  );

  app.get(
    "/v1/suppliers",
    {
      schema: {
        security: requires("po:read"),
        tags,
        summary: "Suppliers",
        response: { 200: z.object({ data: z.array(S.Supplier) }) },
      },
    },
    async () => ({ data: await listSuppliers(db) }),
  );

  app.get(
    "/v1/suppliers/:code",
    {
      schema: {
        security: requires("po:read"),
        tags,
        summary: "A supplier",
        params: S.CodeParam,
        response: { 200: S.Supplier },
      },
    },
    async (req) => getSupplier(db, req.params.code),
  );

  app.post(
    "/v1/suppliers/:code/items",
    {
      schema: {
        security: requires("po:write"),
        tags,
        summary: "Create or replace what a supplier sells for one SKU",
        description: "201 when the supplier did not list the SKU before, 200 when it replaced the item.",
        params: S.CodeParam,
        body: S.SupplierItemBody,
        response: { 200: S.SupplierItem, 201: S.SupplierItem },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => {
        const saved = await saveSupplierItem(tx, req.params.code, req.body);
        return { status: saved.created ? 201 : 200, body: saved.item };
      }),
  );

  app.get(
    "/v1/suppliers/:code/items",
    {
      schema: {
        security: requires("po:read"),
        tags,
        summary: "What a supplier sells",
        params: S.CodeParam,
        response: { 200: z.object({ data: z.array(S.SupplierItem) }) },
      },
    },
    async (req) => {
      await getSupplier(db, req.params.code);
      return { data: await listSupplierItems(db, { supplier: req.params.code }) };
    },
  );

  app.post(
    "/v1/purchase-orders",
    {
      schema: {
        security: requires("po:write"),
        tags,
        summary: "Create a draft purchase order",
        body: S.PurchaseOrderBody,
        response: { 201: S.PurchaseOrder },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 201,
        body: await createPurchaseOrder(tx, req.body, actorOf(req)),
      })),
  );

  app.get(
    "/v1/purchase-orders",
    {
      schema: {
        security: requires("po:read"),
        tags,
        summary: "Purchase orders, newest first",
        querystring: S.PurchaseOrdersQuery,
        response: { 200: z.object({ data: z.array(S.PurchaseOrder), next_cursor: z.string().nullable() }) },
      },
    },
    async (req) => listPurchaseOrders(db, req.query),
  );

  app.get(
    "/v1/purchase-orders/:id",
    {
      schema: {
        security: requires("po:read"),
        tags,
        summary: "A purchase order",
        params: S.IdParam,
        response: { 200: S.PurchaseOrder },
      },
    },
    async (req) => getPurchaseOrder(db, req.params.id),
  );

  app.post(
    "/v1/purchase-orders/:id/submit",
    {
      schema: {
        security: requires("po:write"),
        tags,
        summary: "Send a draft to the supplier: its quantities become incoming at the destination",
        params: S.IdParam,
        response: { 200: S.PurchaseOrder, ...pendingApproval },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => {
        const held = await holdForApproval(tx, req, reply, "purchase_order", { id: req.params.id });
        if (held) return held;
        return { status: 200, body: await submitPurchaseOrder(tx, req.params.id, actorOf(req)) };
      }),
  );

  for (const [action, run, summary] of [
    ["cancel", cancelPurchaseOrder, "Cancel a draft or submitted order; its incoming units are taken back"],
    ["close", closePurchaseOrder, "Close a received order, or short-close a partially received one"],
  ] as const) {
    app.post(
      `/v1/purchase-orders/:id/${action}`,
      {
        schema: {
          security: requires("po:write"),
          tags,
          summary,
          params: S.IdParam,
          body: S.EndBody,
          response: { 200: S.PurchaseOrder },
        },
      },
      async (req, reply) =>
        write(db, req, reply, async (tx) => ({
          status: 200,
          body: await run(tx, req.params.id, req.body?.reason, actorOf(req)),
        })),
    );
  }

  app.post(
    "/v1/purchase-orders/:id/ship",
    {
      schema: {
        security: requires("po:receive"),
        tags,
        summary:
          "A drop-ship order's supplier shipped it to the customer: its lines ship (order status, invoice, customer e-mail, channel confirmation); 409 when shipped already",
        params: S.IdParam,
        body: S.ShipBody,
        response: { 200: S.PurchaseOrder, 409: Problem },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: await shipDropshipOrder(tx, req.params.id, req.body, actorOf(req)),
      })),
  );

  app.post(
    "/v1/purchase-orders/:id/receipts",
    {
      schema: {
        security: requires("po:receive"),
        tags,
        summary: "Receive goods against the order (partial receipts allowed)",
        params: S.IdParam,
        body: S.ReceiptBody,
        response: { 201: S.Receipt },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 201,
        body: await receivePurchaseOrder(tx, req.params.id, req.body, actorOf(req)),
      })),
  );

  app.post(
    "/v1/receiving-settings",
    {
      schema: {
        security: requires("settings:write"),
        tags,
        summary: "How a location receives: through inspection (quarantine) or straight to stock",
        body: S.ReceivingBody,
        response: { 200: S.Receiving },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({ status: 200, body: await setReceiving(tx, req.body) })),
  );

  app.get(
    "/v1/receiving-settings",
    {
      schema: {
        security: requires("settings:read"),
        tags,
        summary: "Receiving per location",
        response: { 200: z.object({ data: z.array(S.Receiving) }) },
      },
    },
    async () => ({ data: await listReceiving(db) }),
  );

  app.get(
    "/v1/costs",
    {
      schema: {
        security: requires("po:read"),
        tags,
        summary: "A SKU's moving-average unit cost and how receipts moved it",
        querystring: S.CostsQuery,
        response: { 200: S.Cost },
      },
    },
    async (req) => costOf(db, req.query.sku),
  );
}
