import { Button, Group, SimpleGrid, Stack, Table, Text } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { get, type Page, post } from "../api";
import type { Channel, ChannelHealth, Failure, IntegrationHealth } from "../ops-types";
import { useCan } from "../session";
import {
  age,
  ErrorView,
  Loading,
  notifyError,
  notifyOk,
  PageTitle,
  QueryView,
  Section,
  StatusBadge,
  when,
} from "../ui";
import { NewChannel } from "./NewChannel";
import { Webhooks } from "./Webhooks";

function ChannelRow({ c }: { c: Channel }) {
  const { t } = useTranslation();
  const h = useQuery({
    queryKey: ["channel-health", c.code],
    queryFn: () => get<ChannelHealth>(`/v1/channels/${encodeURIComponent(c.code)}/health`),
  });
  return (
    <Table.Tr data-channel={c.code}>
      <Table.Td>{c.name}</Table.Td>
      <Table.Td>{c.code}</Table.Td>
      <Table.Td>{c.kind}</Table.Td>
      <Table.Td>
        {h.data ? (
          <StatusBadge code={h.data.status} text={t(`integrations.health.${h.data.status}`)} />
        ) : h.isError ? (
          <Text size="sm" c="red.9">
            {h.error.message}
          </Text>
        ) : (
          "…"
        )}
      </Table.Td>
      <Table.Td>{h.data ? when(h.data.last_success_at) : ""}</Table.Td>
      <Table.Td ta="right">{h.data?.pending ?? ""}</Table.Td>
      <Table.Td ta="right">{h.data?.failures_24h ?? ""}</Table.Td>
    </Table.Tr>
  );
}

/** Integration health: channels and their state, open failures to retry, webhook subscriptions. */
export function IntegrationsPage() {
  const { t } = useTranslation();
  const can = useCan();
  const client = useQueryClient();
  const [busy, setBusy] = useState<number | "all" | null>(null);
  const health = useQuery({
    queryKey: ["integration-health"],
    queryFn: () => get<IntegrationHealth>("/v1/integrations/health"),
  });
  const channels = useQuery({
    queryKey: ["channels"],
    queryFn: () => get<{ data: Channel[] }>("/v1/channels"),
  });
  const failures = useQuery({
    queryKey: ["failures"],
    queryFn: () => get<Page<Failure>>("/v1/integrations/failures", { status: "open", limit: 200 }),
  });
  const retry = async (id: number | "all") => {
    setBusy(id);
    try {
      const res = await post<{ status?: string; matched?: number }>(
        id === "all" ? "/v1/integrations/failures/retry" : `/v1/integrations/failures/${id}/retry`,
        {},
      );
      notifyOk(
        id === "all" ? t("integrations.retriedAll", { count: res.matched ?? 0 }) : t("integrations.retried"),
      );
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(null);
      void client.invalidateQueries({ queryKey: ["failures"] });
      void client.invalidateQueries({ queryKey: ["integration-health"] });
    }
  };

  return (
    <Stack>
      <PageTitle title={t("integrations.title")} subtitle={t("integrations.subtitle")} />
      {health.isError ? (
        <ErrorView error={health.error} onRetry={() => void health.refetch()} />
      ) : (
        <SimpleGrid cols={{ base: 1, xs: 2 }}>
          <Section title={t("integrations.open")}>
            <Text fz={32} fw={700} data-open-failures>
              {health.data?.open ?? "…"}
            </Text>
          </Section>
          <Section title={t("integrations.last24h")}>
            <Text fz={32} fw={700}>
              {health.data?.failures_24h ?? "…"}
            </Text>
          </Section>
        </SimpleGrid>
      )}
      <Section title={t("integrations.channels")}>
        {can("integrations:manage") && <NewChannel />}
        <QueryView query={channels} empty={(data) => data.data.length === 0}>
          {(data) => (
            <Table.ScrollContainer minWidth={720}>
              <Table striped>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>{t("integrations.name")}</Table.Th>
                    <Table.Th>{t("integrations.code")}</Table.Th>
                    <Table.Th>{t("integrations.kind")}</Table.Th>
                    <Table.Th>{t("integrations.state")}</Table.Th>
                    <Table.Th>{t("integrations.lastSuccess")}</Table.Th>
                    <Table.Th ta="right">{t("integrations.pending")}</Table.Th>
                    <Table.Th ta="right">{t("integrations.failures24h")}</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {data.data.map((c) => (
                    <ChannelRow key={c.code} c={c} />
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
        </QueryView>
      </Section>
      <Section title={t("integrations.failures")}>
        {failures.isPending ? (
          <Loading />
        ) : failures.isError ? (
          <ErrorView error={failures.error} onRetry={() => void failures.refetch()} />
        ) : failures.data.data.length === 0 ? (
          <Text c="dimmed">{t("integrations.noFailures")}</Text>
        ) : (
          <Stack>
            {can("integrations:manage") && (
              <Group>
                <Button variant="default" loading={busy === "all"} onClick={() => void retry("all")}>
                  {t("integrations.retryAll")}
                </Button>
              </Group>
            )}
            <Table.ScrollContainer minWidth={820}>
              <Table striped>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>{t("integrations.source")}</Table.Th>
                    <Table.Th>{t("integrations.operation")}</Table.Th>
                    <Table.Th>{t("integrations.subject")}</Table.Th>
                    <Table.Th>{t("integrations.error")}</Table.Th>
                    <Table.Th ta="right">{t("integrations.attempts")}</Table.Th>
                    <Table.Th>{t("integrations.since")}</Table.Th>
                    <Table.Th />
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {failures.data.data.map((f) => (
                    <Table.Tr key={f.id} data-failure={f.id}>
                      <Table.Td>
                        {f.source}
                        {f.channel ? ` · ${f.channel}` : ""}
                      </Table.Td>
                      <Table.Td>{f.operation}</Table.Td>
                      <Table.Td>{f.subject}</Table.Td>
                      <Table.Td>
                        <Text size="xs" lineClamp={2}>
                          {f.error}
                        </Text>
                      </Table.Td>
                      <Table.Td ta="right">{f.attempts}</Table.Td>
                      <Table.Td>{age(f.first_at)}</Table.Td>
                      <Table.Td>
                        {can("integrations:manage") && (
                          <Button
                            size="compact-xs"
                            variant="light"
                            loading={busy === f.id}
                            onClick={() => void retry(f.id)}
                          >
                            {t("integrations.retry")}
                          </Button>
                        )}
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          </Stack>
        )}
      </Section>
      <Webhooks />
    </Stack>
  );
}
