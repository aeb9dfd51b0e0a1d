import type { RetryHandler } from "../monitor/retry.js";
import { replayDelivery } from "./subscriptions.js";
import "../../db/schema-webhooks.js";

/**
 * Retrying a webhook failure (one per subscription) sends its dead deliveries
 * again, in event order, behind whatever is still pending: the same as
 * replaying each one by hand. A delivery replayed before is not queued twice.
 */
export const retryWebhookFailure: RetryHandler = async (failure, tx) => {
  const subscriptionId = Number((failure.detail as { subscription_id?: unknown }).subscription_id);
  if (!Number.isInteger(subscriptionId)) throw new Error("the failure does not name its subscription");
  const dead = await tx
    .selectFrom("webhook_deliveries as d")
    .select("d.id")
    .where("d.subscription_id", "=", subscriptionId)
    .where("d.status", "=", "dead")
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom("webhook_deliveries as r").select("r.id").whereRef("r.replay_of", "=", "d.id"))),
    )
    .orderBy("d.event_id")
    .execute();
  if (dead.length === 0) throw new Error("no dead deliveries left to send again");
  for (const d of dead) await replayDelivery(tx, d.id);
};
