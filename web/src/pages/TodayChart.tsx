import "@mantine/charts/styles.css";
import { BarChart } from "@mantine/charts";
import { Group, SimpleGrid, Stack, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { get } from "../api";
import { label } from "../i18n";
import { money, Section } from "../ui";

interface Dashboard {
  queues: { queue: string; count: number; oldest_age_hours: number | null }[];
  today: { orders: number; revenue: { currency: string; amount: number }[] };
  fill_rate_7d: { units_ordered: number; units_shipped: number };
  critical_stock: { at_or_below_threshold: number };
}

/** Today's figures from GET /v1/dashboard, with a chart of the open work per queue (loaded after the counts). */
export default function TodayChart() {
  const { t } = useTranslation();
  const q = useQuery({
    queryKey: ["today", "dashboard"],
    queryFn: () => get<Dashboard>("/v1/dashboard"),
    refetchInterval: 60_000,
  });
  if (!q.data) return null;
  const d = q.data;
  const data = d.queues.map((x) => {
    const [kind, status] = x.queue.split(":");
    return {
      queue: `${t(`today.kinds.${kind}`, { defaultValue: kind })}: ${label("status", status)}`,
      count: x.count,
    };
  });
  const fill = d.fill_rate_7d.units_ordered
    ? Math.round((100 * d.fill_rate_7d.units_shipped) / d.fill_rate_7d.units_ordered)
    : null;
  return (
    <Stack>
      <SimpleGrid cols={{ base: 1, xs: 3 }}>
        <Section title={t("today.ordersToday")}>
          <Text fz={28} fw={700} data-orders-today>
            {d.today.orders}
          </Text>
          <Text size="sm" c="dimmed">
            {d.today.revenue.map((r) => money(r.amount, r.currency)).join(" · ") || "—"}
          </Text>
        </Section>
        <Section title={t("today.fillRate")}>
          <Text fz={28} fw={700}>
            {fill === null ? "—" : `${fill}%`}
          </Text>
        </Section>
        <Section title={t("today.criticalStock")}>
          <Text fz={28} fw={700}>
            {d.critical_stock.at_or_below_threshold}
          </Text>
        </Section>
      </SimpleGrid>
      {data.length > 0 && (
        <Section title={t("today.openWork")}>
          <Group>
            <figure style={{ margin: 0, width: "100%" }} aria-label={t("today.openWork")} data-chart>
              <BarChart
                h={240}
                data={data}
                dataKey="queue"
                series={[{ name: "count", label: t("today.count"), color: "indigo.7" }]}
                tickLine="y"
              />
            </figure>
          </Group>
        </Section>
      )}
    </Stack>
  );
}
