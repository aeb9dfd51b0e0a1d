import { z } from "zod";
import { auditEntryFor } from "../access/audit.js";
import { type Permission, requires } from "../access/permissions.js";
import { holdForApproval } from "../approvals/gate.js";
import type { Kind } from "../approvals/policies.js";
import { pendingApproval } from "../approvals/view.js";
import type { App, AppDeps } from "../http/app.js";
import { write } from "../http/idempotency.js";
import { cancelOrder } from "./cancellation.js";
import { createChannel, listChannels } from "./channels.js";
import { editOrder } from "./edits.js";
import { fulfilmentRoutes } from "./fulfilment-routes.js";
import { approveOrder, completeOrder, holdOrder, recordPayment, releaseOrder } from "./lifecycle.js";
import { OrderPlacer, placeAndShow } from "./placement-queue.js";
import { listOrders } from "./queue.js";
import * as S from "./schema.js";
import { OrderSettings, OrderSettingsPatch, readOrderSettings, updateOrderSettings } from "./settings.js";
import { getOrderView } from "./view.js";
import * as V from "./view-schema.js";

const tags = ["orders"];
export const actorOf = (req: { principal?: { actor: string } }) => req.principal?.actor ?? "anonymous";

/** Orders, channels and order settings: parse, call one service function, reply with the order. */
export async function orderRoutes(app: App, deps: AppDeps) {
  const { db, reads } = deps;
  const placer = new OrderPlacer(
    db,
    Number(process.env.KEEL_PLACE_INFLIGHT ?? 2),
    Number(process.env.KEEL_PLACE_BATCH ?? 64),
  );

  app.post(
    "/v1/orders",
    {
      schema: {
        security: requires("order:write"),
        tags,
        summary: "Place (or import) an order",
        description:
          "Holds stock in the same transaction; lines that cannot be held are backordered when the variant allows it, else 409 insufficient_stock and nothing is held. The same (channel, external_id) again returns the existing order with 200.",
        body: S.PlaceOrderBody,
        response: { 200: V.Order, 201: V.Order, ...V.problems },
      },
    },
    async (req, reply) => {
      // With an Idempotency-Key the key is stored in the order's own transaction: placed alone.
      if (req.headers["idempotency-key"] !== undefined)
        return write(db, req, reply, (tx) => placeAndShow(tx, req.body, { actor: actorOf(req) }));
      const placed = await placer.place(req.body, actorOf(req), (body) => auditEntryFor(req, body));
      reply.code(placed.status);
      if (placed.json === undefined) return placed.body;
      reply.type("application/json; charset=utf-8");
      return placed.json as unknown as z.infer<typeof V.Order>;
    },
  );

  app.get(
    "/v1/orders",
    {
      schema: {
        security: requires("order:read"),
        tags,
        summary: "The order queue",
        description: "Filter by status, channel, hold reason or overdue; oldest first unless sort=newest.",
        querystring: S.OrdersQuery,
        response: { 200: V.OrderPage, 400: V.Problem },
      },
    },
    // a list may come from the read replica, unless this reader has just written (docs/scaling.md)
    (req) => listOrders(reads.db(actorOf(req)), req.query),
  );

  app.get(
    "/v1/orders/:id",
    {
      schema: {
        security: requires("order:read"),
        tags,
        summary: "An order, by id or number",
        params: S.OrderKey,
        response: { 200: V.Order, 400: V.Problem, 404: V.Problem },
      },
    },
    (req) => getOrderView(db, req.params.id),
  );

  app.patch(
    "/v1/orders/:id",
    {
      schema: {
        security: requires("order:write"),
        tags,
        summary: "Edit an order before any of it is picked: address, lines, totals",
        description:
          "Stock is released and held again in the same transaction by placement's guarded statements; an edit that cannot be held is refused whole (409).",
        params: S.OrderKey,
        body: S.EditOrderBody,
        response: { 200: V.Order, ...V.problems },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => {
        const id = await editOrder(tx, req.params.id, req.body, { actor: actorOf(req) });
        return { status: 200, body: await getOrderView(tx, id) };
      }),
  );

  /** What each order action needs: approving, holding and cancelling are separate duties. */
  const ACTION_PERMISSION = {
    approve: "order:approve",
    hold: "order:hold",
    release: "order:hold",
    cancel: "order:cancel",
    complete: "order:write",
    payments: "order:write",
  } as const satisfies Record<string, Permission>;
  /** Actions a four-eyes policy may hold back (cancelling a paid order, releasing a fraud hold). */
  const GATED: Partial<Record<keyof typeof ACTION_PERMISSION, Kind>> = {
    cancel: "paid_order_cancel",
    release: "fraud_hold_release",
    payments: "refund", // a payment event recording a refund
  };
  const action = <B>(
    path: keyof typeof ACTION_PERMISSION,
    summary: string,
    body: z.ZodType<B>,
    run: (
      tx: Parameters<Parameters<typeof write>[3]>[0],
      id: string,
      body: B,
      actor: string,
    ) => Promise<unknown>,
    status = 200,
  ) =>
    app.post(
      `/v1/orders/:id/${path}`,
      {
        schema: {
          security: requires(ACTION_PERMISSION[path]),
          tags,
          summary,
          params: S.OrderKey,
          body,
          response: { 200: V.Order, 201: V.Order, ...V.problems, ...(GATED[path] ? pendingApproval : {}) },
        },
      },
      (req, reply) =>
        write(db, req, reply, async (tx) => {
          const gate = GATED[path];
          const payload = { id: req.params.id, ...(req.body ?? {}) };
          const held = gate ? await holdForApproval(tx, req, reply, gate, payload) : null;
          if (held) return held;
          const order = (await run(tx, req.params.id, req.body as B, actorOf(req))) as { id: number };
          return { status, body: await getOrderView(tx, order.id) };
        }),
    );

  action("approve", "Approve a received order", S.ApproveBody, (tx, id, b, actor) =>
    approveOrder(tx, id, { actor, reason: b?.reason }),
  );
  action("hold", "Put an order on hold, with a reason", S.HoldBody, (tx, id, b, actor) =>
    holdOrder(tx, id, { code: b.code, detail: b.reason }, { actor }),
  );
  action("release", "Release a hold (some reasons, or all)", S.ReleaseBody, (tx, id, b, actor) =>
    releaseOrder(tx, id, b?.reasons, { actor }),
  );
  action(
    "cancel",
    "Cancel an order, or some of its units, before shipment",
    S.CancelBody,
    (tx, id, b, actor) => cancelOrder(tx, id, b, { actor }),
  );
  action("complete", "Complete a shipped order", S.ApproveBody, (tx, id, b, actor) =>
    completeOrder(tx, id, { actor, reason: b?.reason }),
  );
  action(
    "payments",
    "Record a payment event",
    S.PaymentBody,
    (tx, id, b, actor) => recordPayment(tx, id, b, { actor }),
    201,
  );

  app.post(
    "/v1/channels",
    {
      schema: {
        security: requires("integrations:manage"),
        tags: ["channels"],
        summary: "Create a sales channel",
        description: "config.sla_hours and config.allow_split shape how its orders are handled.",
        body: S.ChannelBody,
        response: { 201: V.Channel, ...V.problems },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => ({ status: 201, body: await createChannel(tx, req.body) })),
  );

  app.get(
    "/v1/channels",
    {
      schema: {
        security: requires("integrations:read"),
        tags: ["channels"],
        summary: "Sales channels",
        response: { 200: z.object({ data: z.array(V.Channel) }) },
      },
    },
    async () => ({ data: await listChannels(db) }),
  );

  app.get(
    "/v1/settings/orders",
    {
      schema: {
        security: requires("settings:read"),
        tags: ["settings"],
        summary: "How orders are checked, approved and allocated",
        response: { 200: OrderSettings },
      },
    },
    () => readOrderSettings(db),
  );

  app.put(
    "/v1/settings/orders",
    {
      schema: {
        security: requires("settings:write"),
        tags: ["settings"],
        summary: "Change order settings; fields left out keep their value",
        body: OrderSettingsPatch,
        response: { 200: OrderSettings, ...V.problems },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => ({ status: 200, body: await updateOrderSettings(tx, req.body) })),
  );

  await fulfilmentRoutes(app, deps);
}
