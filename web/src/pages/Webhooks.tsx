import { Button, Code, Group, Stack, Table, Text, TextInput } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, Fragment, useState } from "react";
import { useTranslation } from "react-i18next";
import { del, get, type Page, post } from "../api";
import type { Subscription } from "../ops-types";
import { useCan } from "../session";
import { ErrorView, Loading, notifyError, notifyOk, QueryView, Section, StatusBadge, when } from "../ui";

interface Delivery {
  id: number;
  event_type: string;
  status: "pending" | "delivered" | "dead";
  attempt: number;
  status_code: number | null;
  error: string | null;
  created_at: string;
}

function Deliveries({ id }: { id: number }) {
  const { t } = useTranslation();
  const can = useCan();
  const q = useQuery({
    queryKey: ["deliveries", id],
    queryFn: () => get<Page<Delivery>>(`/v1/webhook-subscriptions/${id}/deliveries`, { limit: 20 }),
  });
  const replay = async (d: Delivery) => {
    try {
      await post(`/v1/webhook-deliveries/${d.id}/replay`, {});
      notifyOk(t("integrations.replayed", { id: d.id }));
      await q.refetch();
    } catch (err) {
      notifyError(err);
    }
  };
  if (q.isPending) return <Loading />;
  if (q.isError) return <ErrorView error={q.error} onRetry={() => void q.refetch()} />;
  if (!q.data.data.length)
    return (
      <Text size="sm" c="dimmed">
        {t("integrations.noDeliveries")}
      </Text>
    );
  return (
    <Table>
      <Table.Tbody>
        {q.data.data.map((d) => (
          <Table.Tr key={d.id} data-delivery={d.id}>
            <Table.Td>{d.event_type}</Table.Td>
            <Table.Td>
              <StatusBadge
                code={d.status === "dead" ? "failed" : d.status}
                text={t(`integrations.deliveryStatus.${d.status}`)}
              />
            </Table.Td>
            <Table.Td>
              {d.status_code ?? ""} {d.error ?? ""}
            </Table.Td>
            <Table.Td>{when(d.created_at)}</Table.Td>
            <Table.Td>
              {can("integrations:manage") && d.status !== "pending" && (
                <Button size="compact-xs" variant="light" onClick={() => void replay(d)}>
                  {t("integrations.replay")}
                </Button>
              )}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** Webhook subscriptions: add one (its secret is shown once), see its deliveries, replay one, remove it. */
export function Webhooks() {
  const { t } = useTranslation();
  const can = useCan();
  const client = useQueryClient();
  const subs = useQuery({
    queryKey: ["webhook-subscriptions"],
    queryFn: () => get<{ data: Subscription[] }>("/v1/webhook-subscriptions"),
  });
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState("order.*");
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<number | null>(null);
  const add = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const s = await post<Subscription & { secret: string }>("/v1/webhook-subscriptions", {
        url: url.trim(),
        events: events
          .split(/[\s,]+/)
          .map((x) => x.trim())
          .filter(Boolean),
      });
      setSecret(s.secret);
      setUrl("");
      void client.invalidateQueries({ queryKey: ["webhook-subscriptions"] });
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (s: Subscription) => {
    try {
      await del(`/v1/webhook-subscriptions/${s.id}`);
      notifyOk(t("integrations.removed", { url: s.url }));
      void client.invalidateQueries({ queryKey: ["webhook-subscriptions"] });
    } catch (err) {
      notifyError(err);
    }
  };
  return (
    <Section title={t("integrations.webhooks")}>
      <Stack>
        {can("integrations:manage") && (
          <form onSubmit={add} aria-label={t("integrations.addWebhook")}>
            {error !== null && <ErrorView error={error} />}
            <Group align="end">
              <TextInput
                label={t("integrations.url")}
                value={url}
                onChange={(e) => setUrl(e.currentTarget.value)}
                required
                w={320}
              />
              <TextInput
                label={t("integrations.events")}
                description={t("integrations.eventsHelp")}
                value={events}
                onChange={(e) => setEvents(e.currentTarget.value)}
                required
              />
              <Button type="submit" variant="default">
                {t("integrations.addWebhook")}
              </Button>
            </Group>
          </form>
        )}
        {secret && (
          <Stack gap={4} data-secret>
            <Text size="sm">{t("integrations.secretOnce")}</Text>
            <Code block>{secret}</Code>
          </Stack>
        )}
        <QueryView query={subs} empty={(data) => data.data.length === 0}>
          {(data) => (
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("integrations.url")}</Table.Th>
                  <Table.Th>{t("integrations.events")}</Table.Th>
                  <Table.Th>{t("integrations.state")}</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.data.map((s) => (
                  <Fragment key={s.id}>
                    <Table.Tr data-subscription={s.id}>
                      <Table.Td>{s.url}</Table.Td>
                      <Table.Td>{s.events.join(", ")}</Table.Td>
                      <Table.Td>
                        <StatusBadge code={s.status} text={t(`integrations.subStatus.${s.status}`)} />
                      </Table.Td>
                      <Table.Td>
                        <Group gap="xs" wrap="nowrap">
                          <Button
                            size="compact-xs"
                            variant="light"
                            onClick={() => setOpen(open === s.id ? null : s.id)}
                          >
                            {t("integrations.deliveries")}
                          </Button>
                          {can("integrations:manage") && (
                            <Button
                              size="compact-xs"
                              variant="light"
                              color="red"
                              onClick={() => void remove(s)}
                            >
                              {t("integrations.remove")}
                            </Button>
                          )}
                        </Group>
                      </Table.Td>
                    </Table.Tr>
                    {open === s.id && (
                      <Table.Tr>
                        <Table.Td colSpan={4}>
                          <Deliveries id={s.id} />
                        </Table.Td>
                      </Table.Tr>
                    )}
                  </Fragment>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </QueryView>
      </Stack>
    </Section>
  );
}
