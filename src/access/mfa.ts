import type { Tx } from "../db/tx.js";
import { Conflict, ValidationFailed } from "../http/errors.js";
import { openBytes, sealBytes } from "../secrets/box.js";
import { matchTotp, newTotpSecret, otpauthUri } from "./totp.js";
import "../db/schema-access.js";

/**
 * The optional second factor: a user (meant for admins) enrols an
 * authenticator app, confirms it with a first code, and from then on signs in
 * with e-mail, password and a current code. Each time step works once.
 */
export async function startTotpEnrollment(tx: Tx, userId: number): Promise<{ secret: Buffer; uri: string }> {
  const user = await tx
    .selectFrom("users")
    .select(["email", "totp_secret"])
    .where("id", "=", userId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  if (user.totp_secret)
    throw new Conflict("Two-factor sign-in is on already: turn it off first to enrol again");
  const secret = newTotpSecret();
  await tx
    .updateTable("users")
    .set({ totp_pending_secret: sealBytes(secret) })
    .where("id", "=", userId)
    .execute();
  return { secret, uri: otpauthUri(secret, user.email) };
}

const wrongCode = () =>
  new ValidationFailed([{ path: "body.code", message: "the code is wrong or was used already" }]);

export async function confirmTotpEnrollment(tx: Tx, userId: number, code: string): Promise<void> {
  const user = await tx
    .selectFrom("users")
    .select(["totp_pending_secret"])
    .where("id", "=", userId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  if (!user.totp_pending_secret)
    throw new Conflict("No enrolment is pending: start one with POST /v1/me/totp");
  const step = matchTotp(openBytes(user.totp_pending_secret), code, Date.now(), null);
  if (step === null) throw wrongCode();
  await tx
    .updateTable("users")
    .set({
      totp_secret: user.totp_pending_secret,
      totp_pending_secret: null,
      totp_enabled_at: new Date(),
      totp_last_step: step,
    })
    .where("id", "=", userId)
    .execute();
}

/**
 * Checks a sign-in or disable code against the user's secret and uses up its
 * time step (row-locked, so two requests cannot both use one code).
 */
export async function spendTotpCode(tx: Tx, userId: number, code: string): Promise<boolean> {
  const user = await tx
    .selectFrom("users")
    .select(["totp_secret", "totp_last_step"])
    .where("id", "=", userId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  if (!user.totp_secret) return true;
  const step = matchTotp(openBytes(user.totp_secret), code, Date.now(), user.totp_last_step);
  if (step === null) return false;
  await tx.updateTable("users").set({ totp_last_step: step }).where("id", "=", userId).execute();
  return true;
}

export async function disableTotp(tx: Tx, userId: number, code: string): Promise<void> {
  if (!(await spendTotpCode(tx, userId, code))) throw wrongCode();
  await tx
    .updateTable("users")
    .set({ totp_secret: null, totp_pending_secret: null, totp_enabled_at: null, totp_last_step: null })
    .where("id", "=", userId)
    .execute();
}
