import { requires } from "../access/permissions.js";
import { holdForApproval } from "../approvals/gate.js";
import { pendingApproval } from "../approvals/view.js";
import type { App, AppDeps } from "../http/app.js";
import { actorOf } from "../http/auth.js";
import { write } from "../http/idempotency.js";
import { exchangeReturn, refundReturn } from "./money.js";
import { inspectReturn, receiveReturn } from "./receiving.js";
import { decideReturn, requestReturn } from "./requests.js";
import * as S from "./schema.js";
import { ReturnSettings, readReturnSettings, writeReturnSettings } from "./settings.js";
import { getReturnView, listReturns } from "./view.js";

const tags = ["returns"];

export async function returnRoutes(app: App, { db }: AppDeps) {
  app.post(
    "/v1/returns",
    {
      schema: {
        security: requires("return:write"),
        tags,
        summary: "Request a return of shipped units (RMA)",
        body: S.ReturnBody,
        response: { 201: S.ReturnView },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => {
        const id = await requestReturn(tx, req.body, actorOf(req));
        return { status: 201, body: await getReturnView(tx, id) };
      }),
  );

  app.get(
    "/v1/returns",
    {
      schema: {
        security: requires("order:read"),
        tags,
        summary: "Returns, newest first",
        querystring: S.ReturnsQuery,
        response: { 200: S.ReturnList },
      },
    },
    async (req) => listReturns(db, req.query),
  );

  app.get(
    "/v1/returns/:id",
    {
      schema: {
        security: requires("order:read"),
        tags,
        summary: "A return with its lines, inspections, refunds and timeline",
        params: S.ReturnKey,
        response: { 200: S.ReturnView },
      },
    },
    async (req) => getReturnView(db, req.params.id),
  );

  const decisions = [
    ["authorize", "Authorise a requested return", S.ReasonBody],
    ["reject", "Reject a requested return, with the reason", S.RejectBody],
    ["close", "Close a return whose received units are all inspected", S.ReasonBody],
  ] as const;
  for (const [action, summary, body] of decisions) {
    app.post(
      `/v1/returns/:id/${action}`,
      {
        schema: {
          security: requires("return:write"),
          tags,
          summary,
          params: S.ReturnKey,
          body,
          response: { 200: S.ReturnView },
        },
      },
      async (req, reply) =>
        write(db, req, reply, async (tx) => {
          const reason = (req.body as { reason?: string } | null | undefined)?.reason;
          const id = await decideReturn(tx, req.params.id, action, { actor: actorOf(req), reason });
          return { status: 200, body: await getReturnView(tx, id) };
        }),
    );
  }

  app.post(
    "/v1/returns/:id/receive",
    {
      schema: {
        security: requires("return:receive"),
        tags,
        summary:
          "Receive returned units into return_pending; lines with a condition and disposition are inspected at once",
        params: S.ReturnKey,
        body: S.ReceiveBody,
        response: { 200: S.ReturnView },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => {
        const id = await receiveReturn(tx, req.params.id, req.body, actorOf(req));
        return { status: 200, body: await getReturnView(tx, id) };
      }),
  );

  app.post(
    "/v1/returns/:id/inspect",
    {
      schema: {
        security: requires("return:receive"),
        tags,
        summary: "Give received units a condition and a disposition: restock, quarantine, refurbish or scrap",
        params: S.ReturnKey,
        body: S.InspectBody,
        response: { 200: S.ReturnView },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => {
        const id = await inspectReturn(tx, req.params.id, req.body.lines, actorOf(req));
        return { status: 200, body: await getReturnView(tx, id) };
      }),
  );

  app.post(
    "/v1/returns/:id/refund",
    {
      schema: {
        security: requires("refund:request"),
        tags,
        summary: "Refund part or all of the order's payment; never more than was paid and not yet refunded",
        params: S.ReturnKey,
        body: S.RefundBody,
        response: { 200: S.ReturnView, ...pendingApproval },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => {
        const held = await holdForApproval(tx, req, reply, "refund", { id: req.params.id, ...req.body });
        if (held) return held;
        const id = await refundReturn(tx, req.params.id, req.body, actorOf(req));
        return { status: 200, body: await getReturnView(tx, id) };
      }),
  );

  app.post(
    "/v1/returns/:id/exchange",
    {
      schema: {
        security: requires("return:write"),
        tags,
        summary: "Create the replacement order of an exchange; it holds its stock at once",
        params: S.ReturnKey,
        body: S.ExchangeBody,
        response: { 201: S.ReturnView },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => {
        const { returnId } = await exchangeReturn(tx, req.params.id, req.body, actorOf(req));
        return { status: 201, body: await getReturnView(tx, returnId) };
      }),
  );

  app.get(
    "/v1/settings/returns",
    {
      schema: {
        security: requires("settings:read"),
        tags,
        summary: "Return policy: window and reason codes",
        response: { 200: ReturnSettings },
      },
    },
    async () => readReturnSettings(db),
  );
  app.put(
    "/v1/settings/returns",
    {
      schema: {
        security: requires("settings:write"),
        tags,
        summary: "Change the return policy",
        body: ReturnSettings,
        response: { 200: ReturnSettings },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({ status: 200, body: await writeReturnSettings(tx, req.body) })),
  );
}
