import type { FastifyBaseLogger } from "fastify";

/**
 * Runs `round` again `intervalMs` after each round ends (never two at once),
 * or at once when the round says it did work (returns a number above 0), so
 * a backlog drains at the speed of the work rather than one round per
 * interval; logs a failed round and goes on; `stop` waits for the round in
 * flight. The dispatcher and the webhook sender both run this way.
 */
export class Repeating {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly round: () => Promise<unknown>,
    private readonly opts: { intervalMs: number; log?: FastifyBaseLogger; failure: string },
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.next();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private next(busy = false): void {
    if (this.stopped) return;
    this.timer = setTimeout(
      () => {
        let worked = false;
        this.running = this.round()
          .then((r) => {
            worked = typeof r === "number" && r > 0;
          })
          .catch((err) => this.opts.log?.error({ err }, this.opts.failure))
          .finally(() => this.next(worked));
      },
      busy ? 0 : this.opts.intervalMs,
    );
    this.timer.unref();
  }
}
