import { sql } from "kysely";
import { generatePassword, MAX_PASSWORD, MIN_PASSWORD } from "../access/passwords.js";
import { syncBuiltInRoles } from "../access/roles.js";
import { createUser, setPassword } from "../access/users.js";
import type { DB } from "../db/pool.js";
import { inTransaction } from "../db/tx.js";
import { DomainError } from "../http/errors.js";
import { CliError } from "./database.js";

function checkPassword(password: string | undefined): void {
  if (password !== undefined && (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD)) {
    throw new CliError(`the password must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters`, 2);
  }
}

/** Service errors (unknown role, e-mail taken) become one clear CLI line. */
async function asCli<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof DomainError) throw new CliError(err.message);
    throw err;
  }
}

/** `keel user create --email E --role R…`: prints the generated password when none was given. */
export async function createUserCommand(
  db: DB,
  opts: { email: string; name?: string; role: string[]; password?: string },
): Promise<void> {
  checkPassword(opts.password);
  await syncBuiltInRoles(db);
  const created = await asCli(() =>
    inTransaction(db, (tx) =>
      createUser(tx, {
        email: opts.email,
        name: opts.name ?? opts.email.split("@")[0] ?? opts.email,
        roles: opts.role,
        password: opts.password,
      }),
    ),
  );
  process.stderr.write(
    `Created user ${created.user.email} (id ${created.user.id}) with roles ${created.user.roles.join(", ") || "none"}.\n`,
  );
  if (created.password) process.stdout.write(`Password: ${created.password}\n`);
}

/**
 * `keel user reset-password --email E`: break-glass for a lost admin
 * password. Sets a new one (generated unless given), ends the user's
 * sessions, clears sign-in back-off; --enable re-enables them, --clear-totp
 * turns two-factor sign-in off (a lost authenticator).
 */
export async function resetPasswordCommand(
  db: DB,
  opts: { email: string; password?: string; enable?: boolean; clearTotp?: boolean },
): Promise<void> {
  checkPassword(opts.password);
  const password = opts.password ?? generatePassword();
  await asCli(() =>
    inTransaction(db, async (tx) => {
      const id = await setPassword(tx, opts.email, password);
      if (opts.enable) await tx.updateTable("users").set({ disabled: false }).where("id", "=", id).execute();
      if (opts.clearTotp) {
        await tx
          .updateTable("users")
          .set({ totp_secret: null, totp_pending_secret: null, totp_enabled_at: null, totp_last_step: null })
          .where("id", "=", id)
          .execute();
      }
      await sql`delete from login_failures where key = ${`email:${opts.email.trim().toLowerCase()}`}`.execute(
        tx,
      );
    }),
  );
  process.stderr.write(`Password of ${opts.email} reset; their sessions have ended.\n`);
  if (!opts.password) process.stdout.write(`Password: ${password}\n`);
}

/** The e-mail of the sign-in `keel start` creates on a database without users. */
export const FIRST_ADMIN_EMAIL = "admin@keel.local";
const FIRST_ADMIN_LOCK = 0x6b65656c_61646d6en; // "keeladmn"

/**
 * On a database without any user, creates the first admin with a generated
 * password and returns it (to be printed once); otherwise undefined.
 */
export async function ensureFirstAdmin(db: DB): Promise<{ email: string; password: string } | undefined> {
  await syncBuiltInRoles(db);
  return inTransaction(db, async (tx) => {
    await sql`select pg_advisory_xact_lock(${FIRST_ADMIN_LOCK})`.execute(tx);
    const any = await tx.selectFrom("users").select("id").limit(1).executeTakeFirst();
    if (any) return undefined;
    const created = await createUser(tx, { email: FIRST_ADMIN_EMAIL, name: "Admin", roles: ["admin"] });
    return { email: created.user.email, password: created.password as string };
  });
}
