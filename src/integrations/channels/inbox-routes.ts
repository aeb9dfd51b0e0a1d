import { z } from "zod";
import { PUBLIC, requires } from "../../access/permissions.js";
import type { App, AppDeps } from "../../http/app.js";
import { NotFound, Unauthorized } from "../../http/errors.js";
import { write } from "../../http/idempotency.js";
import { findChannel } from "../../orders/channels.js";
import * as V from "../../orders/view-schema.js";
import { maskChannel, webhookSecrets } from "./config.js";
import { receiveDelivery } from "./inbox.js";
import { channelHealth } from "./inbox-health.js";
import { updateChannel } from "./settings.js";
import { checkShopifyDelivery } from "./shopify/webhooks.js";
import { checkWooDelivery, isWooPing } from "./woocommerce/webhooks.js";

const tags = ["channels"];
const Code = z.strictObject({ code: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "a channel code") });

export const ChannelPatchBody = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  config: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('keys to change; null removes one; a secret sent as "***" keeps its value'),
});

const Received = z.object({ received: z.boolean(), duplicate: z.boolean() });

/** A channel's settings (GET/PATCH /v1/channels/{code}) and its inbound webhook endpoint. */
export async function channelInboxRoutes(app: App, deps: AppDeps) {
  const { db } = deps;

  app.get(
    "/v1/channels/:code",
    {
      schema: {
        security: requires("integrations:read"),
        tags,
        summary: "A sales channel (secrets shown as ***)",
        params: Code,
        response: { 200: V.Channel, 400: V.Problem, 404: V.Problem },
      },
    },
    async (req) => {
      const channel = await findChannel(db, req.params.code);
      if (!channel) throw new NotFound("channel", req.params.code);
      return maskChannel(channel);
    },
  );

  app.get(
    "/v1/channels/:code/health",
    {
      schema: {
        security: requires("integrations:read"),
        tags,
        summary: "A channel's health: waiting work, lag, last success, failures",
        params: Code,
        response: {
          200: z.object({
            last_success_at: z.string().nullable(),
            pending: z.number(),
            lag_seconds: z.number(),
            failures_24h: z.number(),
            open_failures: z.number(),
            status: z.enum(["ok", "degraded", "failing"]),
          }),
          400: V.Problem,
          404: V.Problem,
        },
      },
    },
    (req) => channelHealth(db, req.params.code),
  );

  app.patch(
    "/v1/channels/:code",
    {
      schema: {
        security: requires("integrations:manage"),
        tags,
        summary: "Change a channel's name or connector settings",
        description:
          "Config keys given replace theirs, keys left out keep their value. Secrets are write-only. A new webhook_secret keeps the previous one valid for an hour.",
        params: Code,
        body: ChannelPatchBody,
        response: { 200: V.Channel, ...V.problems },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: await updateChannel(tx, req.params.code, req.body),
      })),
  );

  // The raw body is what the platform signed: this plugin reads every content type as bytes.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
    scope.post(
      "/v1/channels/:code/webhooks",
      {
        schema: {
          security: PUBLIC,
          tags,
          summary: "Inbound webhooks from the channel's platform (Shopify, WooCommerce)",
          description:
            "Verified by the platform's own signature (X-Shopify-Hmac-Sha256, X-WC-Webhook-Signature) over the raw body; 401 when it does not match. Stored and answered 200 at once, applied in the background; a duplicate delivery answers 200 and changes nothing.",
          params: Code,
          response: { 200: Received, 401: V.Problem, 404: V.Problem },
        },
      },
      async (req, reply) => {
        const { code } = req.params as { code: string };
        const channel = await findChannel(db, code);
        if (!channel || (channel.kind !== "shopify" && channel.kind !== "woocommerce")) {
          throw new NotFound("channel taking webhooks", code);
        }
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const secrets = webhookSecrets(channel.config);
        if (channel.kind === "woocommerce" && isWooPing(body, req.headers)) {
          // WooCommerce saves a webhook only when this unsigned ping gets exactly 200
          return reply.code(200).send({ received: false, duplicate: false });
        }
        const checked =
          channel.kind === "shopify"
            ? checkShopifyDelivery(
                body,
                req.headers,
                secrets,
                typeof channel.config.shop_domain === "string" ? channel.config.shop_domain : undefined,
              )
            : checkWooDelivery(body, req.headers, secrets);
        if (!checked.ok) throw new Unauthorized(`Webhook signature refused: ${checked.reason}`);
        const stored = await receiveDelivery(db, channel.id, checked.delivery);
        return reply.code(200).send({ received: stored, duplicate: !stored });
      },
    );
  });
}
