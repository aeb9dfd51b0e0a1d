import { z } from "zod";
import { requires } from "../access/permissions.js";
import type { App, AppDeps } from "../http/app.js";
import { write } from "../http/idempotency.js";
import { createFulfilment, type FulfilmentAction, fulfilmentAction } from "./fulfilments.js";
import { getFulfilment, listBins, listFulfilments, setBin } from "./picklists.js";
import * as S from "./schema.js";
import * as V from "./view-schema.js";

const tags = ["fulfillments"];
const actorOf = (req: { principal?: { actor: string } }) => req.principal?.actor ?? "anonymous";

/** Fulfilments (pick → pack → ship → deliver), pick lists and bins. */
export async function fulfilmentRoutes(app: App, { db }: AppDeps) {
  app.post(
    "/v1/orders/:id/fulfillments",
    {
      schema: {
        security: requires("fulfilment:execute"),
        tags,
        summary: "Start a fulfilment of held units at one location",
        description:
          "Without `location`, the first location (by priority) holding units not yet in a fulfilment; without `lines`, every such unit there. Commits the order's stock (reserved → allocated) if not yet done.",
        params: S.OrderKey,
        body: S.FulfilmentBody,
        response: { 201: V.Fulfilment, ...V.problems },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 201,
        body: await createFulfilment(tx, req.params.id, req.body ?? {}, { actor: actorOf(req) }),
      })),
  );

  app.get(
    "/v1/fulfillments",
    {
      schema: {
        security: requires("order:read"),
        tags,
        summary: "Fulfilments, e.g. the pick list of a location: ?location=&status=picking",
        querystring: S.FulfilmentsQuery,
        response: { 200: V.FulfilmentPage, 400: V.Problem, 404: V.Problem, 422: V.Problem },
      },
    },
    (req) => listFulfilments(db, req.query),
  );

  app.get(
    "/v1/fulfillments/:id",
    {
      schema: {
        security: requires("order:read"),
        tags,
        summary: "A fulfilment",
        params: S.FulfilmentId,
        response: { 200: V.Fulfilment, 400: V.Problem, 404: V.Problem },
      },
    },
    (req) => getFulfilment(db, req.params.id),
  );

  const step = (action: FulfilmentAction, summary: string, body: z.ZodType) =>
    app.post(
      `/v1/fulfillments/:id/${action}`,
      {
        schema: {
          security: requires("fulfilment:execute"),
          tags,
          summary,
          params: S.FulfilmentId,
          body,
          response: { 200: V.Fulfilment, ...V.problems },
        },
      },
      (req, reply) =>
        write(db, req, reply, async (tx) => ({
          status: 200,
          body: await fulfilmentAction(tx, req.params.id, action, {
            actor: actorOf(req),
            ...((req.body ?? {}) as { carrier?: string; tracking_number?: string }),
          }),
        })),
    );
  const empty = z.strictObject({}).nullish();
  step("pick", "Start picking (pending → picking)", empty);
  step("pack", "Packed (picking → packed)", empty);
  step("ship", "Shipped with carrier and tracking number: units leave on_hand (reason sale)", S.ShipBody);
  step("deliver", "Delivered (shipped → delivered)", empty);
  step("cancel", "Cancel an unshipped fulfilment; its units stay held for the order", empty);

  app.post(
    "/v1/bins",
    {
      schema: {
        security: requires("catalog:write"),
        tags,
        summary: "Set the bin a SKU is picked from at a location",
        body: S.BinBody,
        response: { 200: V.Bin, ...V.problems },
      },
    },
    (req, reply) => write(db, req, reply, async (tx) => ({ status: 200, body: await setBin(tx, req.body) })),
  );

  app.get(
    "/v1/bins",
    {
      schema: {
        security: requires("inventory:read"),
        tags,
        summary: "Pick bins",
        querystring: z.strictObject({ location: S.FulfilmentsQuery.shape.location }),
        response: { 200: z.object({ data: z.array(V.Bin) }) },
      },
    },
    (req) => listBins(db, req.query.location),
  );
}
