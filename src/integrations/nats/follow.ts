import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

/** One Keel event as the publisher (publisher.ts) puts it on JetStream. */
export interface KeelEvent {
  id: number;
  type: string;
  created_at: string;
  data: unknown;
}

export interface FollowOptions {
  url: string;
  /** The stream Keel publishes into (NATS_URL's publisher default: KEEL). */
  stream?: string;
  /** The durable consumer's name: it remembers what was acknowledged across restarts. */
  durable: string;
  /** Which events, as a subject filter (default every Keel event, `keel.>`). */
  subject?: string;
}

/**
 * The consumer example docs/scaling.md shows: a durable JetStream pull
 * consumer with explicit acks that hands each Keel event to `handle` in
 * stream order. An event is acknowledged after `handle` resolves; when it
 * throws, the event is redelivered a second later. JetStream dropped the
 * duplicates of a re-sent batch at publish time (message id = event id), but
 * a consumer can still see an event twice when its ack is lost, so `handle`
 * should be idempotent by `event.id` (remember the last id per aggregate).
 */
export async function followKeelEvents(
  opts: FollowOptions,
  handle: (event: KeelEvent, meta: { seq: number }) => Promise<void> | void,
): Promise<{ stop(): Promise<void> }> {
  const nc = await connect({ servers: opts.url, name: opts.durable });
  const stream = opts.stream ?? "KEEL";
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(stream, {
      durable_name: opts.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: opts.subject ?? "keel.>",
    });
  } catch (err) {
    await nc.close();
    throw err;
  }
  const consumer = await jetstream(nc).consumers.get(stream, opts.durable);
  const messages = await consumer.consume({ max_messages: 256 });
  const loop = (async () => {
    for await (const m of messages) {
      try {
        await handle(m.json<KeelEvent>(), { seq: m.seq });
        m.ack();
      } catch {
        m.nak(1_000);
      }
    }
  })();
  return {
    async stop() {
      messages.stop();
      await loop;
      await nc.drain();
    },
  };
}
