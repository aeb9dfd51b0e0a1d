import { z } from "zod";
import { requires } from "../access/permissions.js";
import { holdForApproval } from "../approvals/gate.js";
import { pendingApproval } from "../approvals/view.js";
import type { App, AppDeps } from "../http/app.js";
import { actorOf } from "../http/auth.js";
import { write } from "../http/idempotency.js";
import { resolveLocations } from "../inventory/refs.js";
import { abcReport } from "./abc-rollup.js";
import { inventoryAccuracy } from "./accuracy.js";
import { approveCount, cancelCount, submitCount } from "./review.js";
import * as S from "./schema.js";
import { getCount, listCounts, recordCounts, startCount } from "./sessions.js";
import { countSettings, saveCountSettings } from "./settings.js";

const tags = ["counts"];

export async function countRoutes(app: App, { db }: AppDeps) {
  app.post(
    "/v1/counts",
    {
      schema: {
        security: requires("count:perform"),
        tags,
        summary: "Start a cycle count at a location: every stocked SKU, a SKU list, or an ABC class",
        body: S.StartCountBody,
        response: { 201: S.Count },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 201,
        body: await startCount(tx, req.body, actorOf(req)),
      })),
  );

  app.get(
    "/v1/counts",
    {
      schema: {
        security: requires("inventory:read"),
        tags,
        summary: "Counts, newest first",
        querystring: S.CountsQuery,
        response: { 200: z.object({ data: z.array(S.CountSummary) }) },
      },
    },
    async (req) => ({ data: await listCounts(db, req.query) }),
  );

  app.get(
    "/v1/counts/:id",
    {
      schema: {
        security: requires("inventory:read"),
        tags,
        summary: "A count with its lines",
        params: S.IdParam,
        response: { 200: S.Count },
      },
    },
    async (req) => getCount(db, req.params.id),
  );

  app.post(
    "/v1/counts/:id/lines",
    {
      schema: {
        security: requires("count:perform"),
        tags,
        summary: "Record counted quantities (a recount replaces the earlier one)",
        params: S.IdParam,
        body: S.RecordBody,
        response: { 200: S.Count },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: await recordCounts(tx, req.params.id, req.body.lines, actorOf(req)),
      })),
  );

  app.post(
    "/v1/counts/:id/submit",
    {
      schema: {
        security: requires("count:perform"),
        tags,
        summary: "Fix the variances; lines over the thresholds wait for approval, else the count posts now",
        params: S.IdParam,
        body: S.SubmitBody,
        response: { 200: S.Count },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: await submitCount(tx, req.params.id, req.body ?? { uncounted: "skip" }, actorOf(req)),
      })),
  );

  app.post(
    "/v1/counts/:id/approve",
    {
      schema: {
        security: requires("count:approve"),
        tags,
        summary: "Approve a submitted count: its variances are posted as `count` movements",
        params: S.IdParam,
        response: { 200: S.Count, ...pendingApproval },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => {
        const held = await holdForApproval(tx, req, reply, "count_variance", { id: req.params.id });
        if (held) return held;
        return { status: 200, body: await approveCount(tx, req.params.id, actorOf(req)) };
      }),
  );

  app.post(
    "/v1/counts/:id/cancel",
    {
      schema: {
        security: requires("count:perform"),
        tags,
        summary: "Abandon a count; nothing is posted",
        params: S.IdParam,
        response: { 200: S.Count },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: await cancelCount(tx, req.params.id, actorOf(req)),
      })),
  );

  app.get(
    "/v1/count-settings",
    {
      schema: {
        security: requires("settings:read"),
        tags,
        summary: "Approval thresholds for count variances",
        response: { 200: S.CountSettingsBody },
      },
    },
    async () => countSettings(db),
  );

  app.post(
    "/v1/count-settings",
    {
      schema: {
        security: requires("settings:write"),
        tags,
        summary: "Set the approval thresholds (a variance beyond either needs approval)",
        body: S.CountSettingsBody,
        response: { 200: S.CountSettingsBody },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({ status: 200, body: await saveCountSettings(tx, req.body) })),
  );

  app.get(
    "/v1/reports/inventory-accuracy",
    {
      schema: {
        security: requires("reports:read"),
        tags: ["reports"],
        summary: "Inventory record accuracy per location, from approved counts",
        querystring: S.AccuracyQuery,
        response: { 200: z.object({ data: z.array(S.AccuracyRow) }) },
      },
    },
    async (req) => ({ data: await inventoryAccuracy(db, req.query) }),
  );

  app.get(
    "/v1/reports/abc-classes",
    {
      schema: {
        security: requires("reports:read"),
        tags: ["reports"],
        summary: "ABC classes of a location's SKUs by consumption value",
        description:
          "Served from the classification the background job keeps (refreshed every few minutes) when it is at most 15 minutes old, else classified now; `computed_at` says as of when, `source` which. `live=true` always classifies now.",
        querystring: S.AbcQuery,
        response: { 200: S.AbcReport },
      },
    },
    async (req) => {
      const loc = (await resolveLocations(db, [{ code: req.query.location, path: "query.location" }])).get(
        req.query.location,
      )!;
      const report = await abcReport(db, loc.id, req.query.days, { live: req.query.live });
      return {
        data: report.rows.map(({ variant_id: _v, ...r }) => r),
        computed_at: report.computedAt.toISOString(),
        source: report.source,
      };
    },
  );
}
