import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root; `bin/keel.js` runs the CLI from source. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = path.join(root, "bin", "keel.js");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment for a CLI child: this process's, without database settings unless given. */
export function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "warn", ...extra };
  if (!("DATABASE_URL" in extra)) delete env.DATABASE_URL;
  return env;
}

/** Spawns `keel …` and keeps its output as it arrives. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv): ChildProcess & { out: CliResult } {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: CliResult = { code: null, signal: null, stdout: "", stderr: "" };
  child.stdout.on("data", (d) => {
    out.stdout += d;
  });
  child.stderr.on("data", (d) => {
    out.stderr += d;
  });
  return Object.assign(child, { out });
}

/** Resolves with the exit code and output once the process has exited. */
export function exited(child: ChildProcess & { out: CliResult }): Promise<CliResult> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ ...child.out, code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once("close", (code, signal) => resolve({ ...child.out, code, signal }));
  });
}

/** Runs `keel …` to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return exited(spawnCli(args, env));
}

/** Waits until stdout matches `pattern`; fails with the output so far if the process ends first. */
export function waitForOutput(
  child: ChildProcess & { out: CliResult },
  pattern: RegExp,
  timeoutMs = 60_000,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = child.out.stdout.match(pattern);
      if (match) {
        cleanup();
        resolve(match);
      }
    };
    const onClose = () => {
      cleanup();
      reject(new Error(`keel exited before printing ${pattern}:\n${child.out.stdout}\n${child.out.stderr}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${child.out.stdout}\n${child.out.stderr}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off("data", check);
      child.off("close", onClose);
    };
    child.stdout?.on("data", check);
    child.once("close", onClose);
    check();
  });
}
