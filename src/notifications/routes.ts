import { requires } from "../access/permissions.js";
import type { App, AppDeps } from "../http/app.js";
import { write } from "../http/idempotency.js";
import { orderIdOf } from "../orders/core.js";
import { OrderKey } from "../orders/schema.js";
import { orderNotifications } from "./messages.js";
import {
  NotificationSettings,
  readNotificationSettings,
  shown,
  writeNotificationSettings,
} from "./settings.js";

const tags = ["notifications"];

export async function notificationRoutes(app: App, { db }: AppDeps) {
  app.get(
    "/v1/settings/notifications",
    {
      schema: {
        security: requires("settings:read"),
        tags,
        summary: "Customer e-mails: SMTP server, sender, per-channel switch, tracking links, templates",
        response: { 200: NotificationSettings },
      },
    },
    async () => shown(await readNotificationSettings(db)),
  );
  app.put(
    "/v1/settings/notifications",
    {
      schema: {
        security: requires("settings:write"),
        tags,
        summary: "Replace the customer e-mail settings (templates are Handlebars)",
        body: NotificationSettings,
        response: { 200: NotificationSettings },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: await writeNotificationSettings(tx, req.body),
      })),
  );
  app.get(
    "/v1/orders/:id/notifications",
    {
      schema: {
        security: requires("order:read"),
        tags,
        summary: "The e-mails an order's customer was sent (or is to be sent), oldest first",
        params: OrderKey,
      },
    },
    async (req) => ({ data: await orderNotifications(db, await orderIdOf(db, req.params.id)) }),
  );
}
