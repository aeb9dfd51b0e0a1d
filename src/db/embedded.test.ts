import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedServer, startEmbedded } from "./embedded.js";
import { isRunning, processesIn, readOwner, readPidFile, sleep } from "./embedded-lock.js";

/**
 * A real embedded PostgreSQL in a temporary directory, killed with SIGKILL the
 * ways a crash does it, and started again.
 */
let dir: string;
let pgDir: string;
const servers: EmbeddedServer[] = [];
const children: ChildProcess[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-embedded-"));
  fs.chmodSync(dir, 0o755);
  pgDir = path.join(dir, "pg");
});
afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  for (const s of servers) await s.stop().catch(() => {});
  const left = await readPidFile(pgDir);
  if (left && (await isRunning(left.pid))) process.kill(left.pid, "SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

const settings = { fsync: "off", max_connections: 20 };
async function start(): Promise<EmbeddedServer> {
  const s = await startEmbedded({ dataDir: dir, database: "postgres", settings, waitMs: 30_000 });
  servers.push(s);
  return s;
}

async function query(url: string, text: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

async function postmaster(): Promise<number> {
  const f = await readPidFile(pgDir);
  if (!f) throw new Error("no postmaster.pid");
  return f.pid;
}

describe("the embedded server after a kill -9", () => {
  it("starts again right after its postmaster was killed, backends still exiting", async () => {
    const first = await start();
    await query(first.url, "create table kept (n int); insert into kept values (42)");
    // a session open at the kill: its backend outlives the postmaster for a moment
    const open = new pg.Client({ connectionString: first.url });
    await open.connect();
    open.on("error", () => {});
    const pid = await postmaster();
    process.kill(pid, "SIGKILL");

    const second = await start(); // at once: the pid file names a dead (maybe unreaped) process
    expect(await postmaster()).not.toBe(pid);
    expect(await query(second.url, "select n from kept")).toEqual([{ n: 42 }]);
    await open.end().catch(() => {});
    await second.stop();
    expect(await readPidFile(pgDir)).toBeUndefined();
  });

  it("clears a postmaster.pid whose pid now belongs to another process", async () => {
    const s = await start();
    await s.stop();
    // as the user PostgreSQL runs as, so that its own check (kill(pid, 0)) sees a live process
    const { uid, gid } = fs.statSync(pgDir);
    const other = spawn("sleep", ["30"], process.getuid?.() === 0 ? { uid, gid } : {});
    children.push(other);
    // what a reboot or a container restart leaves: the pid file names a live process that is not PostgreSQL
    fs.writeFileSync(
      path.join(pgDir, "postmaster.pid"),
      `${other.pid}\n${pgDir}\n1700000000\n5999\n/tmp\n127.0.0.1\n  1234567     123\nready   \n`,
    );
    const again = await start();
    expect(await postmaster()).not.toBe(other.pid);
    expect((await query(again.url, "select 1 as ok"))[0]).toEqual({ ok: 1 });
    expect(await isRunning(other.pid as number)).toBe(true); // left alone
    await again.stop();
  });

  it("attaches to a live Keel's server, and adopts (then stops) the server of a Keel killed with -9", async () => {
    // another Keel process that starts the server and then is killed
    const script = path.join(dir, "keel.mts");
    fs.writeFileSync(
      script,
      `import { startEmbedded } from ${JSON.stringify(path.resolve("src/db/embedded.ts"))};
       const s = await startEmbedded({ dataDir: ${JSON.stringify(dir)}, database: "postgres", settings: ${JSON.stringify(settings)} });
       console.log("ready " + s.url);
       setInterval(() => {}, 1000);`,
    );
    const keel = spawn(process.execPath, ["--import", "tsx", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(keel);
    await new Promise<void>((resolve, reject) => {
      keel.stdout?.on("data", (d) => String(d).includes("ready") && resolve());
      keel.on("exit", (code) => reject(new Error(`the Keel child exited ${code}`)));
    });
    const pid = await postmaster();
    expect((await readOwner(dir))?.pid).toBe(keel.pid);

    // while that Keel lives: attached, never a second postmaster, and not ours to stop
    const attached = await start();
    expect(attached).toMatchObject({ owned: false, adopted: false });
    expect(await postmaster()).toBe(pid);
    await attached.stop();
    expect(await isRunning(pid)).toBe(true);

    keel.kill("SIGKILL");
    await new Promise((r) => keel.once("exit", r));
    expect(await isRunning(pid)).toBe(true); // the crashed Keel's server runs on

    const adopted = await start();
    expect(adopted).toMatchObject({ owned: true, adopted: true });
    expect(await postmaster()).toBe(pid);
    expect((await query(adopted.url, "select 1 as ok"))[0]).toEqual({ ok: 1 });
    await adopted.stop();
    expect(await isRunning(pid)).toBe(false);
    expect(await processesIn(pgDir)).toEqual([]);
    for (let i = 0; i < 20 && (await readPidFile(pgDir)); i++) await sleep(50);
    expect(await readPidFile(pgDir)).toBeUndefined();
    expect(await readOwner(dir)).toBeUndefined();
  });
});
