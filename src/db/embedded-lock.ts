import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";

/**
 * Who holds an embedded data directory, read from the operating system rather
 * than trusted from files: after a kill -9 a postmaster.pid can name a dead
 * process, a zombie not yet reaped, or a pid reused by something else, and a
 * killed postmaster's backends can outlive it for a moment. Keel never starts
 * a postmaster while any PostgreSQL process still works in the directory.
 *
 * On Linux every PostgreSQL process (postmaster and backends) has the data
 * directory as its working directory, so /proc tells exactly who uses it.
 * Elsewhere (no /proc) a live pid is taken to be a live postmaster.
 */

const PROC = "/proc";
const hasProc = () => existsSync(path.join(PROC, "self", "stat"));

export interface PidFile {
  pid: number;
  port: number;
  socketDir?: string;
}

export async function readPidFile(pgDir: string): Promise<PidFile | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(pgDir, "postmaster.pid"), "utf8");
  } catch {
    return undefined;
  }
  const lines = text.split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  const socket = lines[4]?.trim();
  return { pid, port, socketDir: socket && existsSync(socket) ? socket : undefined };
}

/** Running, and not a zombie: a killed process stays in the table until its parent reaps it. */
export async function isRunning(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  if (!hasProc()) return true;
  try {
    const stat = await fs.readFile(path.join(PROC, String(pid), "stat"), "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false; // gone between the two checks
  }
}

async function samePath(a: string, b: string): Promise<boolean> {
  try {
    return (await fs.realpath(a)) === (await fs.realpath(b));
  } catch {
    return false;
  }
}

/** Running processes (not zombies) whose working directory is `pgDir`: the PostgreSQL processes of that directory. */
export async function processesIn(pgDir: string): Promise<number[]> {
  if (!hasProc()) return [];
  const dir = await fs.realpath(pgDir).catch(() => pgDir);
  const out: number[] = [];
  for (const name of await fs.readdir(PROC)) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let cwd: string;
    try {
      cwd = await fs.readlink(path.join(PROC, name, "cwd"));
    } catch {
      continue; // another user's process, or gone
    }
    if (cwd === dir && (await isRunning(Number(name)))) out.push(Number(name));
  }
  return out;
}

/** True when `pid` is a running PostgreSQL postmaster of `pgDir` (not a dead pid, a zombie or a reused pid). */
export async function isPostmasterOf(pid: number, pgDir: string): Promise<boolean> {
  if (!(await isRunning(pid))) return false;
  if (!hasProc()) return true;
  const base = path.join(PROC, String(pid));
  if (await samePath(path.join(base, "cwd"), pgDir)) return true;
  // the cwd of another user's process cannot be read: its command line names the directory
  const cmdline = await fs.readFile(path.join(base, "cmdline"), "utf8").catch(() => "");
  const args = cmdline.split("\0");
  const d = args.indexOf("-D");
  return d >= 0 && args[d + 1] !== undefined && (await samePath(args[d + 1] as string, pgDir));
}

/** The Keel process that started the server in a data directory, recorded beside it. */
export interface Owner {
  pid: number;
  postmaster: number;
}

const ownerFile = (dataDir: string) => path.join(dataDir, "pg-owner.json");

export async function readOwner(dataDir: string): Promise<Owner | undefined> {
  try {
    return JSON.parse(await fs.readFile(ownerFile(dataDir), "utf8")) as Owner;
  } catch {
    return undefined;
  }
}

export async function writeOwner(dataDir: string, owner: Owner): Promise<void> {
  const file = ownerFile(dataDir);
  await fs.writeFile(`${file}.tmp`, JSON.stringify(owner), { mode: 0o600 });
  await fs.rename(`${file}.tmp`, file);
}

export async function clearOwner(dataDir: string, pid = process.pid): Promise<void> {
  const owner = await readOwner(dataDir);
  if (owner?.pid === pid) await fs.rm(ownerFile(dataDir), { force: true });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fast shutdown (SIGINT) of a postmaster this process did not spawn, waiting until it and its backends are gone. */
export async function stopPostmaster(pid: number, pgDir: string, timeoutMs = 30_000): Promise<void> {
  try {
    process.kill(pid, "SIGINT");
  } catch {
    return;
  }
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!(await isRunning(pid)) && (await processesIn(pgDir)).length === 0) return;
    await sleep(50);
  }
  throw new Error(`the PostgreSQL server (pid ${pid}) in ${pgDir} did not stop within ${timeoutMs / 1000} s`);
}
