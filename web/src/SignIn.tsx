import { Button, Center, Paper, PasswordInput, Stack, TextInput, Title } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, post, setCsrfToken } from "./api";
import type { Me } from "./session";
import { ErrorView } from "./ui";

/** Email and password → the session cookie (POST /v1/auth/login), then who we are (GET /v1/me). */
export function SignIn() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [totp, setTotp] = useState("");
  // the password was right and the user has two-factor sign-in on: ask for the code
  const [needsCode, setNeedsCode] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // the answer is what GET /v1/me would say, with the CSRF token for this session's writes
      const me = await post<Me>("/v1/auth/login", {
        email,
        password,
        ...(needsCode ? { totp: totp.trim() } : {}),
      });
      setCsrfToken(me.csrf_token ?? null);
      client.setQueryData(["me"], me);
    } catch (err) {
      if (err instanceof ApiError && err.code === "totp_required") {
        setNeedsCode(true);
        setError(null);
        return;
      }
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder p="xl" w={380} maw="100%">
        <form onSubmit={submit}>
          <Stack>
            <Title order={1} size="h3">
              {t("signIn.title")}
            </Title>
            {error !== null && <ErrorView error={error} />}
            <TextInput
              label={t("signIn.email")}
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
              data-autofocus
            />
            <PasswordInput
              label={t("signIn.password")}
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
            />
            {needsCode && (
              <TextInput
                label={t("signIn.code")}
                inputMode="numeric"
                autoComplete="one-time-code"
                required
                value={totp}
                onChange={(e) => setTotp(e.currentTarget.value)}
                autoFocus
              />
            )}
            <Button type="submit" loading={busy}>
              {t("signIn.submit")}
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
