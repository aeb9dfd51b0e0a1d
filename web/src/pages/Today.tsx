import { Group, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { lazy, Suspense } from "react";
import { useTranslation } from "react-i18next";
import { firstPage } from "../api";
import { label } from "../i18n";
import type { OrdersSearch } from "../router";
import { useCan } from "../session";
import type { Fulfilment, OrderSummary } from "../types";
import { age, CardLink, QueryView } from "../ui";

const CAP = 500;
// recharts is big: the figures and chart load after the queue counts, in their own chunk
const TodayChart = lazy(() => import("./TodayChart"));

interface Queue {
  key: string;
  title: string;
  count: number;
  more: boolean;
  oldest: string | null;
  to: "/" | "/orders" | "/pick" | "/returns" | "/purchasing" | "/integrations";
  search?: OrdersSearch;
}

/** Count and oldest age of one list: its first page (oldest first), "500+" beyond that. */
async function queue<T>(path: string, q: Record<string, string>, at: (row: T) => string) {
  const page = await firstPage<T>(path, q, CAP);
  const times = page.data.map(at).sort();
  return { count: page.data.length, more: page.next_cursor !== null, oldest: times[0] ?? null };
}

async function loadQueues(can: (p: string) => boolean): Promise<Queue[]> {
  const out: Promise<Queue | Queue[]>[] = [];
  const orders = (q: Record<string, string>) =>
    queue<OrderSummary>("/v1/orders", { sort: "oldest", ...q }, (o) => o.placed_at);
  if (can("order:read")) {
    out.push(
      orders({ status: "received" }).then((r) => ({
        key: "toApprove",
        title: "today.queues.toApprove",
        ...r,
        to: "/orders" as const,
        search: { status: "received" },
      })),
    );
    out.push(
      firstPage<OrderSummary>("/v1/orders", { status: "on_hold", sort: "oldest" }, CAP).then((page) => {
        const by = new Map<string, OrderSummary[]>();
        for (const o of page.data)
          for (const code of new Set(o.hold_reasons.map((h) => h.code)))
            by.set(code, [...(by.get(code) ?? []), o]);
        const all: Queue = {
          key: "onHold",
          title: "today.queues.onHold",
          count: page.data.length,
          more: page.next_cursor !== null,
          oldest: page.data[0]?.placed_at ?? null,
          to: "/orders" as const,
          search: { status: "on_hold" },
        };
        return [
          all,
          ...[...by].map(([code, list]) => ({
            key: `hold-${code}`,
            title: `hold:${code}`,
            count: list.length,
            more: false,
            oldest: list[0]?.placed_at ?? null,
            to: "/orders" as const,
            search: { status: "on_hold", hold_reason: code },
          })),
        ];
      }),
    );
    out.push(
      orders({ overdue: "true" }).then((r) => ({
        key: "overdue",
        title: "today.queues.overdue",
        ...r,
        to: "/orders" as const,
        search: { overdue: "true" },
      })),
    );
    const fulfilments = (status: string, key: string) =>
      queue<Fulfilment>("/v1/fulfillments", { status }, (f) => f.created_at).then((r) => ({
        key,
        title: `today.queues.${key}`,
        ...r,
        to: "/pick" as const,
      }));
    out.push(
      fulfilments("pending", "toPick"),
      fulfilments("picking", "picking"),
      fulfilments("packed", "toShip"),
    );
  }
  if (can("return:receive"))
    out.push(
      queue<{ created_at: string }>("/v1/returns", { status: "received" }, (r) => r.created_at).then((r) => ({
        key: "returns",
        title: "today.queues.returns",
        ...r,
        to: "/returns" as const,
        search: { status: "received" },
      })),
    );
  if (can("po:read"))
    out.push(
      queue<{ created_at: string }>("/v1/purchase-orders", { status: "submitted" }, (p) => p.created_at).then(
        (r) => ({ key: "posDue", title: "today.queues.posDue", ...r, to: "/purchasing" as const }),
      ),
    );
  if (can("integrations:read"))
    out.push(
      firstPage<{ first_at: string }>("/v1/integrations/failures", { status: "open" }, 200).then((page) => ({
        key: "failures",
        title: "today.queues.failures",
        count: page.data.length,
        more: page.next_cursor !== null,
        oldest: page.data.map((f) => f.first_at).sort()[0] ?? null,
        to: "/integrations" as const,
      })),
    );
  return (await Promise.all(out)).flat();
}

export function TodayPage() {
  const { t } = useTranslation();
  const can = useCan();
  const q = useQuery({ queryKey: ["today"], queryFn: () => loadQueues(can), refetchInterval: 60_000 });
  return (
    <Stack>
      <div>
        <Title order={1}>{t("today.title")}</Title>
        <Text c="dimmed">{t("today.subtitle")}</Text>
      </div>
      <QueryView query={q}>
        {(data) => (
          <SimpleGrid cols={{ base: 1, xs: 2, md: 3, lg: 4 }}>
            {data.map((item) => {
              const title = item.title.startsWith("hold:")
                ? t("today.holdBy", { reason: label("hold", item.title.slice(5)) })
                : t(item.title);
              return (
                <CardLink
                  key={item.key}
                  withBorder
                  to={item.to}
                  search={item.search}
                  data-queue={item.key}
                  aria-label={`${title}: ${item.count}${item.more ? "+" : ""}`}
                >
                  <Text size="sm" fw={500}>
                    {title}
                  </Text>
                  <Group justify="space-between" align="baseline" mt="xs">
                    <Text fz={32} fw={700} data-count>
                      {item.count}
                      {item.more ? "+" : ""}
                    </Text>
                    <Text size="sm" c="dimmed">
                      {item.oldest ? t("today.oldest", { age: age(item.oldest) }) : t("today.empty")}
                    </Text>
                  </Group>
                </CardLink>
              );
            })}
          </SimpleGrid>
        )}
      </QueryView>
      {can("reports:read") && (
        <Suspense fallback={null}>
          <TodayChart />
        </Suspense>
      )}
    </Stack>
  );
}
