import { z } from "zod";
import { requires } from "../access/permissions.js";
import type { App, AppDeps } from "../http/app.js";
import { write } from "../http/idempotency.js";
import { PurchaseOrder } from "../purchasing/schema.js";
import { deleteReorderRule, listReorderRules, saveReorderRule } from "./rules.js";
import * as S from "./schema.js";
import { replenishmentSettings } from "./settings.js";
import { replenishmentSuggestions } from "./suggestions.js";
import { draftOrdersFromSuggestions } from "./to-orders.js";

const tags = ["replenishment"];
const actorOf = (req: { principal?: { actor: string } }) => req.principal?.actor ?? "anonymous";

export async function replenishmentRoutes(app: App, { db }: AppDeps) {
  app.post(
    "/v1/reorder-rules",
    {
      schema: {
        security: requires("po:write"),
        tags,
        summary: "Create or replace the reorder rule of a SKU at a location",
        description:
          "With `max`: min/max — below reorder_point, order up to max. With `reorder_quantity`: at or below reorder_point, order that quantity. 201 when new, 200 when replaced.",
        body: S.ReorderRuleBody,
        response: { 200: S.ReorderRule, 201: S.ReorderRule },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => {
        const saved = await saveReorderRule(tx, req.body, actorOf(req));
        return { status: saved.created ? 201 : 200, body: saved.rule };
      }),
  );

  app.get(
    "/v1/reorder-rules",
    {
      schema: {
        security: requires("po:read"),
        tags,
        summary: "Reorder rules",
        querystring: S.RulesQuery,
        response: { 200: z.object({ data: z.array(S.ReorderRule) }) },
      },
    },
    async (req) => ({ data: await listReorderRules(db, req.query) }),
  );

  app.delete(
    "/v1/reorder-rules/:id",
    {
      schema: {
        security: requires("po:write"),
        tags,
        summary: "Delete a reorder rule",
        params: S.IdParam,
        response: { 200: S.ReorderRule },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: await deleteReorderRule(tx, req.params.id),
      })),
  );

  app.get(
    "/v1/replenishment/suggestions",
    {
      schema: {
        security: requires("po:read"),
        tags,
        summary: "What to buy for a location, with the inputs behind each quantity",
        description:
          "Most urgent first: SKUs to order by `coverage` (lowest first), then SKUs whose forecast is still pending, then (with `all=true`) SKUs that need nothing. Forecasts come from the background job when they were made from the same sales history, else are made for the request (a limited number); each says which, and when it was made.",
        querystring: S.SuggestionsQuery,
        response: { 200: S.SuggestionPage },
      },
    },
    async (req) => {
      const defaults = await replenishmentSettings(db);
      return replenishmentSuggestions(db, {
        location: req.query.location,
        sku: req.query.sku,
        serviceLevel: req.query.service_level ?? defaults.service_level,
        historyDays: req.query.history_days ?? defaults.history_days,
        defaultLeadTimeDays: defaults.default_lead_time_days,
        all: req.query.all,
        limit: req.query.limit,
        cursor: req.query.cursor,
        liveForecastLimit: defaults.live_forecast_limit,
      });
    },
  );

  app.post(
    "/v1/replenishment/purchase-orders",
    {
      schema: {
        security: requires("po:write"),
        tags,
        summary: "Turn accepted suggestions into draft purchase orders, one per supplier and location",
        body: S.DraftOrdersBody,
        response: { 201: z.object({ purchase_orders: z.array(PurchaseOrder) }) },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 201,
        body: { purchase_orders: await draftOrdersFromSuggestions(tx, req.body.suggestions, actorOf(req)) },
      })),
  );
}
