import { z } from "zod";
import { PUBLIC, requires } from "../access/permissions.js";
import { holdForApproval } from "../approvals/gate.js";
import { pendingApproval } from "../approvals/view.js";
import type { App, AppDeps } from "../http/app.js";
import { actorOf } from "../http/auth.js";
import { ValidationFailed } from "../http/errors.js";
import { write } from "../http/idempotency.js";
import { offeredQuantities } from "../integrations/stock-policy/policy.js";
import { adjustStock, moveStock } from "./adjustments.js";
import { availabilityForSku, listLevels, listMovements } from "./levels.js";
import { NOT_QUICK, QuickReserver } from "./quick-reserve.js";
import { DEFAULT_TTL_SECONDS, getReservation, releaseReservation, reserveStock } from "./reservations.js";
import * as S from "./schema.js";
import type { Movement } from "./stock.js";
import { createTransfer, getTransfer, receiveTransfer } from "./transfers.js";

const tags = ["inventory"];

/** Ledger rows as the API shows them: by SKU and location code. */
export const movementView = (sku: string, location: string) => (m: Movement) => ({
  id: m.id,
  sku,
  location,
  bucket: m.bucket,
  delta: m.delta,
  reason: m.reason,
  reference: m.reference,
  actor: m.actor,
  note: m.note,
  created_at: new Date(m.created_at).toISOString(),
});

/** Serialises without re-validating: for hot routes whose handler builds the documented shape itself. */
const plainJson = () => (data: unknown) => JSON.stringify(data);

function parseSkus(list: string): string[] {
  const skus = [
    ...new Set(
      list
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (skus.length === 0 || skus.length > 100 || skus.some((s) => s.length > 64)) {
    throw new ValidationFailed(
      [{ path: "querystring.skus", message: "1 to 100 comma-separated SKUs of at most 64 characters" }],
      400,
    );
  }
  return skus;
}

export async function inventoryRoutes(app: App, { db, storefront, reads }: AppDeps) {
  const quickReserver = new QuickReserver(db);
  app.get(
    "/v1/inventory/levels",
    {
      schema: {
        security: requires("inventory:read"),
        tags,
        summary: "Stock per variant × location, every bucket",
        querystring: S.LevelsQuery,
        response: { 200: z.object({ data: z.array(S.Level), next_cursor: z.string().nullable() }) },
      },
    },
    async (req) => listLevels(db, req.query),
  );

  app.get(
    "/v1/inventory/availability",
    {
      schema: {
        security: requires("inventory:read"),
        tags,
        summary: "Sellable units of a SKU, in total and per location",
        querystring: z.strictObject({ sku: S.Sku, channel: z.string().min(1).max(64).optional() }),
        response: {
          200: S.Availability.extend({
            channel: z
              .object({ code: z.string(), offered: z.number().nullable() })
              .optional()
              .describe("with ?channel=: what that channel is offered by its stock policy"),
          }),
        },
      },
    },
    async (req) => {
      const availability = await availabilityForSku(db, req.query.sku);
      if (!req.query.channel) return availability;
      const offer = (await offeredQuantities(db, req.query.channel, [req.query.sku])).get(req.query.sku);
      return { ...availability, channel: { code: req.query.channel, offered: offer?.offered ?? null } };
    },
  );

  app.get(
    "/v1/inventory/movements",
    {
      schema: {
        security: requires("inventory:read"),
        tags,
        summary: "The stock ledger, newest first",
        querystring: S.MovementsQuery,
        response: { 200: z.object({ data: z.array(S.Movement), next_cursor: z.string().nullable() }) },
      },
    },
    // a list may come from the read replica, unless this reader has just written (docs/scaling.md)
    async (req) => listMovements(reads.db(actorOf(req)), req.query),
  );

  app.get(
    "/v1/inventory/reasons",
    {
      schema: {
        security: requires("inventory:read"),
        tags,
        summary: "Movement reason codes; `manual` ones may be used on adjustments",
      },
    },
    async () => ({
      data: await db.selectFrom("movement_reasons").selectAll().orderBy("code").execute(),
    }),
  );

  app.post(
    "/v1/inventory/adjustments",
    {
      schema: {
        security: requires("inventory:adjust"),
        tags,
        summary: "Change a bucket by a delta or set it to an absolute value",
        body: S.AdjustmentBody,
        response: { 201: z.object({ movements: z.array(S.Movement) }), ...pendingApproval },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => {
        const held = await holdForApproval(tx, req, reply, "stock_adjustment", req.body);
        if (held) return held;
        const movements = await adjustStock(tx, req.body, actorOf(req));
        return {
          status: 201,
          body: { movements: movements.map(movementView(req.body.sku, req.body.location)) },
        };
      }),
  );

  app.post(
    "/v1/inventory/moves",
    {
      schema: {
        security: requires("inventory:transfer"),
        tags,
        summary: "Move units between buckets at one location (e.g. quarantine → on_hand)",
        body: S.MoveBody,
        response: { 201: z.object({ movements: z.array(S.Movement) }) },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => {
        const movements = await moveStock(tx, req.body, actorOf(req));
        return {
          status: 201,
          body: { movements: movements.map(movementView(req.body.sku, req.body.location)) },
        };
      }),
  );

  app.post(
    "/v1/inventory/transfers",
    {
      schema: {
        security: requires("inventory:transfer"),
        tags,
        summary: "Ship units to another location; they arrive as `incoming`",
        body: S.TransferBody,
        response: { 201: S.Transfer },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 201,
        body: await createTransfer(tx, req.body, actorOf(req)),
      })),
  );

  app.get(
    "/v1/inventory/transfers/:id",
    {
      schema: {
        security: requires("inventory:read"),
        tags,
        summary: "A transfer",
        params: S.IdParam,
        response: { 200: S.Transfer },
      },
    },
    async (req) => getTransfer(db, req.params.id),
  );

  app.post(
    "/v1/inventory/transfers/:id/receive",
    {
      schema: {
        security: requires("inventory:transfer"),
        tags,
        summary: "Receive some or all outstanding units of a transfer",
        params: S.IdParam,
        body: S.ReceiveTransferBody,
        response: { 200: S.Transfer },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: await receiveTransfer(tx, req.params.id, req.body ?? {}, actorOf(req)),
      })),
  );

  app.post(
    "/v1/reservations",
    {
      schema: {
        security: requires("inventory:reserve"),
        tags: ["reservations"],
        summary: "Hold stock for a cart or checkout: every line or nothing",
        body: S.ReservationBody,
        response: { 201: S.Reservation },
      },
      serializerCompiler: plainJson,
    },
    async (req, reply) => {
      const body = req.body;
      if (body.lines.length === 1 && req.headers["idempotency-key"] === undefined) {
        const line = body.lines[0];
        const quick = await quickReserver.reserve({
          sku: line.sku,
          location: line.location,
          quantity: line.quantity,
          ttlSeconds: body.ttl_seconds ?? DEFAULT_TTL_SECONDS,
          reference: body.reference ?? null,
          actor: actorOf(req),
        });
        if (quick !== NOT_QUICK) {
          reply.code(201);
          return quick;
        }
      }
      return write(db, req, reply, async (tx) => ({
        status: 201,
        body: await reserveStock(tx, body, actorOf(req)),
      }));
    },
  );

  app.get(
    "/v1/reservations/:id",
    {
      schema: {
        security: requires("inventory:read"),
        tags: ["reservations"],
        summary: "A reservation",
        params: S.IdParam,
        response: { 200: S.Reservation },
      },
    },
    async (req) => getReservation(db, req.params.id),
  );

  app.delete(
    "/v1/reservations/:id",
    {
      schema: {
        security: requires("inventory:reserve"),
        tags: ["reservations"],
        summary: "Release a reservation (releasing twice is harmless)",
        params: S.IdParam,
        response: { 200: S.Reservation },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: await releaseReservation(tx, req.params.id, actorOf(req)),
      })),
  );

  app.get(
    "/v1/storefront/availability",
    {
      schema: {
        tags: ["storefront"],
        summary: "Public stock status per SKU for product pages",
        security: PUBLIC,
        querystring: S.StorefrontQuery,
        response: { 200: S.StorefrontAvailability },
      },
    },
    // hot path: the cache answers in the documented shape, as JSON text made once per entry
    async (req, reply) => {
      const skus = parseSkus(req.query.skus);
      reply.type("application/json; charset=utf-8");
      return (await storefront.json(skus)) as unknown as z.infer<typeof S.StorefrontAvailability>;
    },
  );

  app.get(
    "/v1/storefront/availability/stream",
    {
      schema: {
        tags: ["storefront"],
        summary: "Server-Sent Events: the availability of these SKUs now, then on every change",
        security: PUBLIC,
        querystring: S.StorefrontQuery,
      },
    },
    async (req, reply) => {
      const skus = parseSkus(req.query.skus);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        // headers hooks set before the hijack (CORS for storefront origins, security headers)
        ...(reply.getHeaders() as import("node:http").OutgoingHttpHeaders),
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      const watched = new Set(skus);
      const send = async (which: string[]) => {
        for (const entry of await storefront.get(which)) {
          res.write(`event: availability\ndata: ${JSON.stringify(entry)}\n\n`);
        }
      };
      let queue = send(skus);
      const unsubscribe = storefront.onChange((changed) => {
        const hit = changed.has("*") ? skus : skus.filter((s) => changed.has(s));
        if (hit.length) queue = queue.then(() => send(hit)).catch(() => {});
      });
      const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
      const end = () => {
        clearInterval(heartbeat);
        unsubscribe();
        watched.clear();
      };
      req.raw.on("close", end);
      res.on("error", end);
    },
  );
}
