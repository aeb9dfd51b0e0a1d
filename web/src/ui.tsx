import {
  Alert,
  Anchor,
  type AnchorProps,
  Badge,
  Button,
  Card,
  type CardProps,
  Center,
  Group,
  List,
  Loader,
  Text,
  Title,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { type UseQueryResult, useQuery } from "@tanstack/react-query";
import { createLink } from "@tanstack/react-router";
import { type ComponentPropsWithoutRef, forwardRef, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, get } from "./api";
import i18n, { label } from "./i18n";
import type { Location } from "./types";

/** An error in words: Keel's problem+json detail, and each invalid field for a 422. */
export function ErrorView({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  const message = error instanceof Error ? error.message : String(error);
  const errors = error instanceof ApiError ? error.errors : [];
  return (
    <Alert color="red" title={t("app.errorTitle")} role="alert" my="sm">
      <Text size="sm">{message}</Text>
      {errors.length > 0 && (
        <List size="sm" mt="xs">
          {errors.map((e) => (
            <List.Item key={e.path}>
              {e.path}: {e.message}
            </List.Item>
          ))}
        </List>
      )}
      {onRetry && (
        <Button mt="sm" size="xs" variant="light" color="red" onClick={onRetry}>
          {t("app.retry")}
        </Button>
      )}
    </Alert>
  );
}

export function Loading() {
  const { t } = useTranslation();
  return (
    <Center py="xl" aria-busy="true">
      <Group gap="xs">
        <Loader size="sm" />
        <Text size="sm">{t("app.loading")}</Text>
      </Group>
    </Center>
  );
}

/**
 * A query's three states before its answer, one way everywhere: loading, the
 * error with a retry, and "none" when `empty` says there is nothing to show.
 */
export function QueryView<T>({
  query,
  empty,
  children,
}: {
  query: UseQueryResult<T>;
  empty?: boolean | ((data: T) => boolean);
  children: (data: T) => ReactNode;
}) {
  const { t } = useTranslation();
  if (query.isPending) return <Loading />;
  if (query.isError) return <ErrorView error={query.error} onRetry={() => void query.refetch()} />;
  if (typeof empty === "function" ? empty(query.data) : empty) return <Text c="dimmed">{t("app.none")}</Text>;
  return <>{children(query.data)}</>;
}

/** A toast for a failed action, with the server's words. */
export function notifyError(error: unknown) {
  const errors = error instanceof ApiError ? error.errors.map((e) => `${e.path}: ${e.message}`) : [];
  notifications.show({
    color: "red",
    title: i18n.t("app.errorTitle"),
    message: [error instanceof Error ? error.message : String(error), ...errors].join("\n"),
    autoClose: 8000,
    closeButtonProps: { "aria-label": i18n.t("app.close") },
  });
}

export function notifyOk(message: string) {
  notifications.show({
    color: "teal",
    message,
    autoClose: 3000,
    closeButtonProps: { "aria-label": i18n.t("app.close") },
  });
}

/** How long ago, in the largest whole unit: "5 min", "3 h", "2 d". */
export function age(iso: string, now = Date.now()): string {
  const minutes = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 60_000));
  if (minutes < 120) return i18n.t("app.ageMinutes", { count: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return i18n.t("app.ageHours", { count: hours });
  return i18n.t("app.ageDays", { count: Math.floor(hours / 24) });
}

export function money(minor: number, currency: string): string {
  try {
    return new Intl.NumberFormat(i18n.language, { style: "currency", currency }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

export function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString(i18n.language) : "—";
}

const COLORS: Record<string, string> = {
  received: "blue",
  on_hold: "orange",
  approved: "teal",
  backordered: "grape",
  preparing: "cyan",
  partially_shipped: "indigo",
  shipped: "green",
  completed: "gray",
  cancelled: "red",
  pending: "yellow",
  picking: "cyan",
  packed: "indigo",
  delivered: "green",
  paid: "green",
  authorized: "teal",
  failed: "red",
  draft: "gray",
  submitted: "blue",
  partially_received: "indigo",
  requested: "yellow",
  authorised: "blue",
  rejected: "red",
  inspected: "teal",
  closed: "gray",
  open: "orange",
  resolved: "green",
  ok: "green",
  degraded: "orange",
  failing: "red",
  active: "green",
};

export function StatusBadge({ code, text }: { code: string; text?: string }) {
  return (
    <Badge color={COLORS[code] ?? "gray"} variant="light" data-status={code}>
      {text ?? label("status", code)}
    </Badge>
  );
}

/** Mantine's Anchor and Card as router links (typed routes and search params). */
export const AnchorLink = createLink(
  forwardRef<HTMLAnchorElement, AnchorProps & ComponentPropsWithoutRef<"a">>((props, ref) => (
    <Anchor component="a" ref={ref} {...props} />
  )),
);
export const CardLink = createLink(
  forwardRef<HTMLAnchorElement, CardProps & ComponentPropsWithoutRef<"a">>((props, ref) => (
    <Card component="a" ref={ref} {...props} />
  )),
);

/** A titled card: one part of a page. */
export function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Card withBorder component="section" aria-label={title}>
      <Title order={2} size="h4" mb="sm">
        {title}
      </Title>
      {children}
    </Card>
  );
}

/** The page's title and, under it, what the page is for. */
export function PageTitle({ title, subtitle }: { title: string; subtitle?: string }) {
  return (
    <div>
      <Title order={1}>{title}</Title>
      {subtitle && <Text c="dimmed">{subtitle}</Text>}
    </div>
  );
}

export function useLocations() {
  return useQuery({
    queryKey: ["locations"],
    queryFn: () => get<{ data: Location[] }>("/v1/locations"),
  });
}

/** A wide table's horizontal scroller, reachable by keyboard (WCAG 2.1.1) even with nothing focusable inside. */
export function ScrollRegion({
  label,
  minWidth,
  children,
}: {
  label: string;
  minWidth: number;
  children: ReactNode;
}) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
    <section aria-label={label} tabIndex={0} style={{ overflowX: "auto" }}>
      <div style={{ minWidth }}>{children}</div>
    </section>
  );
}
